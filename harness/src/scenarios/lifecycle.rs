//! What follows the token: expiry, revocation, rotation, a lost session, a changed tool list and
//! a restarted server, each inside one live session, with the scripted model calling a tool after
//! the event so both the server's log and the agent's view show what the client did about it.

use std::time::{Duration, Instant};

use mock_server::model_api::{ModelApi, Turn};
use mock_server::{AccessRecord, Bearer, MockServer, Phase};
use serde_json::{json, Value};

use crate::checks::model;
use crate::checks::{self, evidence_line, is_authenticated, Check, Verdict};
use crate::clients::{ClientUnderTest, DriveError, RunEnv, SessionOptions, Step};
use crate::drive::browser::ScriptedBrowser;
use crate::drive::terminal::TerminalSession;
use crate::scenarios::agent::{tool_result, turn_ended};
use crate::scenarios::steps::{
    add_server, settle, settle_quiet, slash_mcp_auth, Grace, Run, RunOptions, FOLLOW_UP_QUIET,
    RETRY_QUIET, SERVER_NAME,
};

/// Bound on one scripted turn (prompt typed → the model's closing text).
const TURN_TIMEOUT: Duration = Duration::from_secs(120);

pub const REFRESHED_AFTER_401: &str = "refreshed-after-401";
pub const NO_ROTATED_REFRESH_REUSE: &str = "no-rotated-refresh-reuse";
pub const REINITIALIZED_AFTER_SESSION_LOSS: &str = "reinitialized-after-session-loss";
pub const RELISTED_AFTER_LIST_CHANGED: &str = "relisted-after-list-changed";
pub const RECOVERED_OR_TOLD_AFTER_RESTART: &str = "recovered-or-told-after-restart";
pub const SCOPE_STEPPED_UP: &str = "scope-stepped-up";
pub const RECOVERED_OR_TOLD_AFTER_5XX: &str = "recovered-or-told-after-5xx";
pub const RECOVERED_OR_TOLD_AFTER_DROPPED_CONNECTION: &str =
    "recovered-or-told-after-dropped-connection";
pub const TOOL_CALL_AFTER_FAULT: &str = "tool-call-after-fault";
pub const ONE_SESSION_AFTER_LOSS: &str = "one-session-after-loss";
pub const NO_REFRESH_STORM: &str = "no-refresh-storm";
pub const NO_RETRY_LOOP_AFTER_REFUSAL: &str = "no-retry-loop-after-refusal";
pub const NO_PROBING_AFTER_TOKEN_LOSS: &str = "no-probing-after-token-loss";

/// Requests bound to fail a client may send after its refresh was refused, before it stops or
/// authorizes again: the MCP request that learns the token is gone (401), one more from a
/// concurrent stream, and one retry of the refresh.
const DOOMED_REQUESTS_ALLOWED: usize = 3;

/// Requests bound to fail a client may send after a restart lost every token, before it
/// authorizes again or stops: the request that meets the 401, a concurrent stream's, the refused
/// refresh, and one more connection attempt.
const TOKEN_LOSS_DOOMED_ALLOWED: usize = 4;

/// Requests a client may still send to a session after the server said it is gone (404): the
/// request that met the 404 and one concurrent stream (the SSE `GET`) meeting it too.
const LOST_SESSION_404S_ALLOWED: usize = 2;

/// `transient_errors`: what the server answers, and how many authenticated MCP requests get it.
pub const TRANSIENT_STATUS: u16 = 503;
pub const TRANSIENT_COUNT: u32 = 2;
/// `slow_server`: how long every MCP `POST` is held.
pub const SLOW_DELAY: Duration = Duration::from_secs(2);

/// The event a lifecycle scenario puts between the login and the agent's tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleEvent {
    /// Every access token expires.
    TokenExpiry,
    /// Every access token is revoked.
    TokenRevoked,
    /// Expiry twice, with a tool call after each: the second refresh must use the rotated token.
    RefreshRotation,
    /// The server forgets every session (404 on the next request naming one).
    SessionLost,
    /// A tool is added and `notifications/tools/list_changed` pushed on the GET streams.
    ToolsChanged,
    /// The server stops and comes back on the same port with its state lost.
    ServerRestart,
    /// The server (built with the `tools_call_scope` fault) answers `tools/call` with 403
    /// `insufficient_scope`; the client must step up.
    ScopeStepUp,
    /// The next authenticated MCP `POST`s get 503; then a second call, the server well again.
    TransientErrors,
    /// Every MCP `POST` is held [`SLOW_DELAY`].
    SlowServer,
    /// The next authenticated MCP `POST`'s connection is closed without a response; then a
    /// second call.
    DroppedConnection,
}

impl LifecycleEvent {
    /// A transport fault that passes: judged by whether the client recovered or said so, and
    /// by a second call once the server is well.
    fn is_transient_fault(self) -> bool {
        matches!(
            self,
            LifecycleEvent::TransientErrors | LifecycleEvent::DroppedConnection
        )
    }
}

/// A tool the server adds during `ToolsChanged`.
const ADDED_TOOL: &str = "farewell";

fn last_seq(mock: &MockServer) -> u64 {
    mock.received_requests().last().map(|r| r.seq).unwrap_or(0)
}

/// Types `prompt` and waits until the turn it starts has ended, allowing any tool-call question
/// the client asks on the way.
pub(crate) fn play_turn(
    client: &dyn ClientUnderTest,
    session: &mut TerminalSession,
    model: &ModelApi,
    run: &mut Run<'_>,
    prompt: &str,
    mut browser: Option<&mut ScriptedBrowser>,
) -> Result<(), DriveError> {
    client.send_prompt(session, prompt)?;
    let started = Instant::now();
    loop {
        if turn_ended(&model.views(), prompt).is_some() {
            return Ok(());
        }
        // A client that re-authorizes mid-turn (scope step-up) opens the browser again; the
        // harness is the user and consents.
        if let Some(browser) = browser.as_deref_mut() {
            if let Ok(url) = browser.wait_for_url(Duration::from_millis(10)) {
                let consent = browser.complete_consent(&url)?;
                run.commands.push(format!(
                    "# the client opened the browser mid-turn; consent redirected to {}",
                    consent.callback_url
                ));
            }
        }
        if let Some(question) = client.allow_pending_tool_call(session)? {
            run.commands.push(format!(
                "# the client asked, and the harness allowed: {question}"
            ));
        }
        if started.elapsed() >= TURN_TIMEOUT {
            let views: Vec<String> = model
                .views()
                .iter()
                .map(|v| format!("#{} {:?} → {}", v.seq, v.kind, v.answer))
                .collect();
            return Err(DriveError::Timeout {
                what: format!("the turn started by {prompt:?} to end"),
                secs: TURN_TIMEOUT.as_secs_f64(),
                detail: format!(
                    "model requests:\n{}\nscreen:\n{}",
                    views.join("\n"),
                    session.screen()
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn call_turn(tool: &str, input: Value) -> Turn {
    Turn::new().call(tool, input).say("Done.")
}

pub(crate) fn lifecycle(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    env: &RunEnv<'_>,
    model: &ModelApi,
    event: LifecycleEvent,
    options: &RunOptions,
) -> Result<(), DriveError> {
    // The events are driven through the in-process server's API.
    let target = run.mock;
    let server = target.in_process().ok_or_else(|| {
        DriveError::Setup(format!(
            "{event:?} is driven through the in-process mock's API; run it with the in-process mock"
        ))
    })?;
    add_server(run, client, env)?;
    let session_options = SessionOptions {
        allowed_servers: vec![SERVER_NAME.to_owned()],
    };
    let mut session = client.start_session_with(env, &session_options)?;
    run.commands.push(client.reproduce(Step::InSessionLogin {
        server: SERVER_NAME,
        allow_tools: true,
        then: "",
    }));
    let result = (|| -> Result<(), DriveError> {
        let auth = slash_mcp_auth(run, client, env, &mut session)?;
        let log = run.mock.received_requests()?;
        let listed = checks::tools_listed_after_token(&log);
        if !auth.succeeded || listed.verdict != Verdict::Pass {
            // Without a working first connection there is nothing to be lost afterwards.
            run.checks.push(checks::token_exchanged(&log));
            run.checks.push(listed);
            return Ok(());
        }
        let hello = client.mcp_tool_name(SERVER_NAME, "hello");
        let boundary = last_seq(server);
        run.commands.push(format!("# event: {event:?}"));
        match event {
            LifecycleEvent::TokenExpiry | LifecycleEvent::RefreshRotation => {
                server.expire_access_tokens();
            }
            LifecycleEvent::TokenRevoked => {
                server.revoke_access_tokens();
            }
            LifecycleEvent::SessionLost => {
                if options.keep_losing_sessions {
                    server.keep_forgetting_sessions();
                } else {
                    server.drop_sessions();
                }
            }
            LifecycleEvent::ToolsChanged => {
                server.add_tool(ADDED_TOOL);
                if !options.skip_list_changed_notification {
                    let heard = server.notify_tools_changed();
                    run.commands.push(format!(
                        "# pushed tools/list_changed to {heard} open stream(s)"
                    ));
                }
                settle(
                    run.mock,
                    Duration::from_secs(10),
                    Grace::Quiet(FOLLOW_UP_QUIET),
                    |log| {
                        log.iter().any(|r| {
                            r.seq > boundary && r.rpc_method.as_deref() == Some("tools/list")
                        })
                    },
                )?;
            }
            LifecycleEvent::ScopeStepUp => {}
            LifecycleEvent::TransientErrors => {
                let count = if options.fault_never_ends {
                    u32::MAX
                } else {
                    TRANSIENT_COUNT
                };
                server.fail_mcp_requests(TRANSIENT_STATUS, count);
                run.commands.push(format!(
                    "# the next {count} authenticated MCP POST(s) get {TRANSIENT_STATUS} \
                     (curl -X POST '{}/__admin/fail-mcp-requests?status={TRANSIENT_STATUS}&count={count}')",
                    server.uri()
                ));
            }
            LifecycleEvent::SlowServer => {
                server.slow_responses(Some(SLOW_DELAY));
                run.commands.push(format!(
                    "# every MCP POST is held {} ms (curl -X POST '{}/__admin/slow-responses?ms={}')",
                    SLOW_DELAY.as_millis(),
                    server.uri(),
                    SLOW_DELAY.as_millis()
                ));
            }
            LifecycleEvent::DroppedConnection => {
                let count = if options.fault_never_ends {
                    u32::MAX
                } else {
                    1
                };
                server.drop_mcp_connections(count);
                run.commands.push(format!(
                    "# the next {count} authenticated MCP POST(s) lose their connection \
                     (curl -X POST '{}/__admin/drop-connections?count={count}')",
                    server.uri()
                ));
            }
            LifecycleEvent::ServerRestart => {
                server.stop_serving();
                if !options.keep_server_down {
                    server
                        .restart(false)
                        .map_err(|e| DriveError::Setup(e.to_string()))?;
                }
            }
        }

        let (agent_tool, server_tool, input) = if event == LifecycleEvent::ToolsChanged {
            (
                client.mcp_tool_name(SERVER_NAME, ADDED_TOOL),
                ADDED_TOOL,
                json!({"text": "bye"}),
            )
        } else {
            (hello.clone(), "hello", json!({"name": "harness"}))
        };
        let mut turn = call_turn(&agent_tool, input.clone());
        if event == LifecycleEvent::ToolsChanged {
            turn = Turn::new().expect_offered(&agent_tool);
            turn = turn.call(&agent_tool, input.clone()).say("Done.");
        }
        model.push_turn(turn);
        let views_before = model.views().last().map(|v| v.seq).unwrap_or(0);
        let mut browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
        browser.skip_logged();
        let played = play_turn(
            client,
            &mut session,
            model,
            run,
            "Use the mock server's tool now.",
            Some(&mut browser),
        );
        if let Err(error) = played {
            if event != LifecycleEvent::ServerRestart {
                return Err(error);
            }
            // A client that re-authorizes after the restart with the client ID the server
            // forgot leaves the person on the server's error page: its failure, not the
            // driver's (anything else stays a driver error).
            let check = crate::scenarios::steps::refused_client_id_reused(
                run,
                RECOVERED_OR_TOLD_AFTER_RESTART,
                error,
            )?;
            run.checks.push(check);
            let log = run.mock.received_requests()?;
            run.checks.push(no_probing_after_token_loss(&log, boundary));
            run.checks
                .push(checks::bearer_on_every_request(&log, Some(boundary)));
            return Ok(());
        }
        if event == LifecycleEvent::RefreshRotation {
            server.expire_access_tokens();
            run.commands
                .push("# event: the access tokens expire again".to_owned());
            model.push_turn(call_turn(&hello, json!({"name": "again"})));
            play_turn(client, &mut session, model, run, "Once more, please.", None)?;
        }
        // After a transient fault, a second call with the server well again (unless the fault
        // was told never to end).
        let mut second_turn = None;
        if event.is_transient_fault() {
            settle_quiet(run.mock, FOLLOW_UP_QUIET)?;
            if !options.fault_never_ends {
                // Whatever of the fault the client did not meet is called off: the server is
                // well for the second call.
                server.fail_mcp_requests(TRANSIENT_STATUS, 0);
                server.drop_mcp_connections(0);
                run.commands
                    .push("# the fault is over: the server is well again".to_owned());
            }
            let mid = last_seq(server);
            let mid_views = model.views().last().map(|v| v.seq).unwrap_or(0);
            run.commands
                .push("# a second call, after the fault".to_owned());
            model.push_turn(call_turn(&hello, json!({"name": "again"})));
            play_turn(client, &mut session, model, run, "Once more, please.", None)?;
            second_turn = Some((mid, mid_views));
        }
        // A server that lost its state leaves a client retrying on a timer, or not: long enough
        // to tell which.
        let quiet = if event == LifecycleEvent::ServerRestart {
            RETRY_QUIET
        } else {
            FOLLOW_UP_QUIET
        };
        settle_quiet(run.mock, quiet)?;

        let log = run.mock.received_requests()?;
        let views = model.views();
        let script = model.script_report();
        match event {
            LifecycleEvent::TokenExpiry | LifecycleEvent::TokenRevoked => {
                run.checks.push(refreshed_after_401(&log, boundary));
                run.checks.push(no_refresh_storm(&log, boundary, 1));
            }
            LifecycleEvent::RefreshRotation => {
                run.checks.push(refreshed_after_401(&log, boundary));
                run.checks.push(no_rotated_refresh_reuse(&log, boundary));
                run.checks.push(no_refresh_storm(&log, boundary, 2));
            }
            LifecycleEvent::SessionLost => {
                run.checks
                    .push(reinitialized_after_session_loss(&log, boundary));
                run.checks.push(one_session_after_loss(&log, boundary));
            }
            LifecycleEvent::ToolsChanged => {
                run.checks.push(relisted_after_list_changed(&log, boundary));
                run.checks
                    .push(model::tools_offered_to_model(&script, &views));
            }
            LifecycleEvent::ScopeStepUp => {
                run.checks.push(scope_stepped_up(&log, boundary));
            }
            LifecycleEvent::TransientErrors | LifecycleEvent::DroppedConnection => {
                let name = if event == LifecycleEvent::TransientErrors {
                    RECOVERED_OR_TOLD_AFTER_5XX
                } else {
                    RECOVERED_OR_TOLD_AFTER_DROPPED_CONNECTION
                };
                run.checks.push(recovered_or_told_after_fault(
                    name,
                    &log,
                    &views,
                    boundary,
                    views_before,
                    &agent_tool,
                    server_tool,
                ));
                if let Some((mid, mid_views)) = second_turn {
                    run.checks.push(tool_call_after_fault(
                        &log,
                        &views,
                        mid,
                        mid_views,
                        &agent_tool,
                        server_tool,
                    ));
                }
            }
            LifecycleEvent::SlowServer => {}
            LifecycleEvent::ServerRestart => {
                let auth_tool = client.authenticate_tool(SERVER_NAME);
                run.checks.push(recovered_or_told_after_restart(
                    &log,
                    &views,
                    boundary,
                    views_before,
                    &agent_tool,
                    &auth_tool,
                ));
                run.checks.push(no_probing_after_token_loss(&log, boundary));
            }
        }
        // Failure class 4, in every lifecycle story: the tokens are used on every request, up
        // to a restart that deliberately loses them.
        let until = (event == LifecycleEvent::ServerRestart).then_some(boundary);
        run.checks
            .push(checks::bearer_on_every_request(&log, until));
        if !matches!(
            event,
            LifecycleEvent::ServerRestart
                | LifecycleEvent::TransientErrors
                | LifecycleEvent::DroppedConnection
        ) {
            run.checks.push(model::tool_call_roundtrip_after(
                &log,
                &views,
                &agent_tool,
                server_tool,
                boundary,
            ));
        }
        Ok(())
    })();
    run.final_screen = session.screen();
    session.terminate();
    result
}

fn mcp_after(log: &[AccessRecord], after: u64) -> impl Iterator<Item = &AccessRecord> {
    log.iter()
        .filter(move |r| r.seq > after && r.phase == Phase::Mcp)
}

/// OAuth 2.1 §4.3 and MCP authorization › "Token Handling": a 401 for an expired or revoked
/// token is followed by a `refresh_token` grant and the request succeeding with the new token.
pub fn refreshed_after_401(log: &[AccessRecord], after: u64) -> Check {
    let rejected = mcp_after(log, after).find(|r| {
        r.status == 401 && matches!(r.bearer, Bearer::Expired { .. } | Bearer::Revoked { .. })
    });
    let Some(rejected) = rejected else {
        return Check::fail(
            REFRESHED_AFTER_401,
            "the client never presented the dead token, so no refresh could be judged",
            mcp_after(log, after).map(evidence_line).collect(),
        );
    };
    let refresh = log.iter().find(|r| {
        r.seq > rejected.seq
            && r.phase == Phase::Token
            && r.grant_type.as_deref() == Some("refresh_token")
    });
    let retried = refresh.and_then(|refresh| {
        mcp_after(log, refresh.seq).find(|r| is_authenticated(r) && (200..300).contains(&r.status))
    });
    match (refresh, retried) {
        (Some(refresh), Some(retried)) if refresh.status == 200 => Check::pass(
            REFRESHED_AFTER_401,
            "after a 401 for the dead token the client refreshed and carried on with the new one",
            vec![
                evidence_line(rejected),
                evidence_line(refresh),
                evidence_line(retried),
            ],
        ),
        (refresh, _) => Check::fail(
            REFRESHED_AFTER_401,
            "after a 401 for the dead token the client did not refresh and carry on",
            std::iter::once(evidence_line(rejected))
                .chain(refresh.map(evidence_line))
                .chain(
                    log.iter()
                        .filter(|r| r.seq > rejected.seq && r.phase != Phase::Admin)
                        .take(12)
                        .map(evidence_line),
                )
                .collect(),
        ),
    }
}

/// OAuth 2.1 §4.3.1 (refresh token rotation): once rotated, a refresh token must not be sent
/// again. Judged from the refresh grants after `after`: at least two, all accepted.
pub fn no_rotated_refresh_reuse(log: &[AccessRecord], after: u64) -> Check {
    let grants: Vec<&AccessRecord> = log
        .iter()
        .filter(|r| {
            r.seq > after
                && r.phase == Phase::Token
                && r.grant_type.as_deref() == Some("refresh_token")
        })
        .collect();
    let evidence: Vec<String> = grants.iter().map(|r| evidence_line(r)).collect();
    let refused: Vec<&&AccessRecord> = grants
        .iter()
        .filter(|r| r.error.as_deref() == Some("invalid_grant"))
        .collect();
    let accepted = grants.iter().filter(|r| r.status == 200).count();
    if !refused.is_empty() {
        Check::fail(
            NO_ROTATED_REFRESH_REUSE,
            "the client sent a refresh token the server had already rotated away (invalid_grant)",
            evidence,
        )
    } else if accepted < 2 {
        Check::fail(
            NO_ROTATED_REFRESH_REUSE,
            "two expiries should have led to two accepted refreshes",
            evidence,
        )
    } else {
        Check::pass(
            NO_ROTATED_REFRESH_REUSE,
            "each refresh used the newest refresh token",
            evidence,
        )
    }
}

/// Streamable HTTP › "Session Management": a 404 for a session id means the client must start a
/// new session with a fresh `initialize`, then carry on in it.
pub fn reinitialized_after_session_loss(log: &[AccessRecord], after: u64) -> Check {
    let Some(lost) = mcp_after(log, after).find(|r| r.status == 404 && r.session_id.is_some())
    else {
        return Check::fail(
            REINITIALIZED_AFTER_SESSION_LOSS,
            "the client never used the lost session, so its recovery could not be judged",
            mcp_after(log, after).map(evidence_line).collect(),
        );
    };
    let init = mcp_after(log, lost.seq).find(|r| {
        r.rpc_method.as_deref() == Some("initialize") && is_authenticated(r) && r.status == 200
    });
    let used = init.and_then(|init| {
        mcp_after(log, init.seq).find(|r| {
            r.session_id == init.session_id
                && matches!(r.rpc_method.as_deref(), Some("tools/list" | "tools/call"))
                && r.status == 200
        })
    });
    match (init, used) {
        (Some(init), Some(used)) => Check::pass(
            REINITIALIZED_AFTER_SESSION_LOSS,
            "after a 404 for its session the client initialized a new one and used it",
            vec![
                evidence_line(lost),
                evidence_line(init),
                evidence_line(used),
            ],
        ),
        _ => Check::fail(
            REINITIALIZED_AFTER_SESSION_LOSS,
            "after a 404 for its session the client did not open and use a new one",
            std::iter::once(evidence_line(lost))
                .chain(mcp_after(log, lost.seq).take(12).map(evidence_line))
                .collect(),
        ),
    }
}

/// Streamable HTTP › "Session Management", judged over the whole recovery: after the 404 the
/// client opens exactly one new session (one successful `initialize`) and sends everything after
/// it in that session. Two `initialize`s racing each other, work in a third session, or the dead
/// session retried (more 404s than the request that met it and one concurrent stream) are wasted
/// work and fail. A client that opens no new session fails too (as
/// `reinitialized-after-session-loss` does).
pub fn one_session_after_loss(log: &[AccessRecord], after: u64) -> Check {
    let Some(lost) = mcp_after(log, after).find(|r| r.status == 404 && r.session_id.is_some())
    else {
        return Check::fail(
            ONE_SESSION_AFTER_LOSS,
            "the client never used the lost session, so its recovery could not be judged",
            mcp_after(log, after).map(evidence_line).collect(),
        );
    };
    let after_loss: Vec<&AccessRecord> = mcp_after(log, lost.seq - 1).collect();
    let inits: Vec<&&AccessRecord> = after_loss
        .iter()
        .filter(|r| {
            r.rpc_method.as_deref() == Some("initialize") && is_authenticated(r) && r.status == 200
        })
        .collect();
    let evidence = || {
        after_loss
            .iter()
            .take(16)
            .map(|r| evidence_line(r))
            .collect()
    };
    let [init] = inits.as_slice() else {
        let summary = if inits.is_empty() {
            "after a 404 for its session the client opened no new session".to_owned()
        } else {
            format!(
                "after a 404 for its session the client opened {} new sessions (successful \
                 initialize requests), where one is enough",
                inits.len()
            )
        };
        return Check::fail(ONE_SESSION_AFTER_LOSS, summary, evidence());
    };
    let dead_retries = after_loss
        .iter()
        .filter(|r| r.session_id == lost.session_id && r.status == 404 && r.method != "DELETE")
        .count();
    let elsewhere: Vec<&&AccessRecord> = after_loss
        .iter()
        .filter(|r| r.seq > init.seq && r.method != "DELETE")
        .filter(|r| r.session_id.is_some() && r.session_id != init.session_id)
        .collect();
    if dead_retries > LOST_SESSION_404S_ALLOWED {
        Check::fail(
            ONE_SESSION_AFTER_LOSS,
            format!(
                "the client kept sending to the lost session: {dead_retries} requests met its 404 \
                 (at most {LOST_SESSION_404S_ALLOWED}: the request that found it gone and one \
                 concurrent stream)"
            ),
            evidence(),
        )
    } else if !elsewhere.is_empty() {
        Check::fail(
            ONE_SESSION_AFTER_LOSS,
            format!(
                "after opening its new session the client sent {} request(s) in another one",
                elsewhere.len()
            ),
            std::iter::once(evidence_line(init))
                .chain(elsewhere.iter().map(|r| evidence_line(r)))
                .collect(),
        )
    } else {
        Check::pass(
            ONE_SESSION_AFTER_LOSS,
            "after the 404 the client opened one new session and sent everything after it there",
            vec![evidence_line(lost), evidence_line(init)],
        )
    }
}

/// OAuth 2.1 §4.3 (refreshing an access token), judged for waste: each expiry the server
/// committed after `after` is worth one `refresh_token` grant, and one more is tolerated (a
/// client may refresh early, or retry one that failed in transit). More is a refresh storm:
/// concurrent requests each refreshing for themselves, or a refresh before every request. A
/// client that never refreshes passes here (`refreshed-after-401` judges that).
pub fn no_refresh_storm(log: &[AccessRecord], after: u64, expiries: usize) -> Check {
    let grants: Vec<&AccessRecord> = log
        .iter()
        .filter(|r| {
            r.seq > after
                && r.phase == Phase::Token
                && r.grant_type.as_deref() == Some("refresh_token")
        })
        .collect();
    let allowed = expiries + 1;
    let evidence: Vec<String> = grants.iter().map(|r| evidence_line(r)).collect();
    if grants.len() > allowed {
        Check::fail(
            NO_REFRESH_STORM,
            format!(
                "{} refresh grants for {expiries} expir{} (at most {allowed})",
                grants.len(),
                if expiries == 1 { "y" } else { "ies" }
            ),
            evidence,
        )
    } else {
        Check::pass(
            NO_REFRESH_STORM,
            format!(
                "{} refresh grant(s) for {expiries} expir{}",
                grants.len(),
                if expiries == 1 { "y" } else { "ies" }
            ),
            evidence,
        )
    }
}

/// OAuth 2.1 §4.3 and §5.3 (error responses), judged for waste: once the authorization server
/// has refused a refresh (`invalid_grant`, `invalid_client`), requests that must fail — MCP
/// requests without a valid token (401) and the refused refresh again — are counted until the
/// client authorizes anew (an `authorization_code` grant) or the log ends. More than
/// [`DOOMED_REQUESTS_ALLOWED`] is a retry loop. A client that never had a refresh refused passes
/// with that said.
pub fn no_retry_loop_after_refusal(log: &[AccessRecord], after: u64) -> Check {
    let refused = log.iter().find(|r| {
        r.seq > after
            && r.phase == Phase::Token
            && r.grant_type.as_deref() == Some("refresh_token")
            && r.status >= 400
    });
    let Some(refused) = refused else {
        return Check::pass(
            NO_RETRY_LOOP_AFTER_REFUSAL,
            "no refresh was refused, so no retry loop could follow one",
            Vec::new(),
        );
    };
    let doomed = doomed_until_authorized(log, refused.seq);
    let evidence: Vec<String> = std::iter::once(refused)
        .chain(doomed.iter().copied())
        .take(16)
        .map(evidence_line)
        .collect();
    if doomed.len() > DOOMED_REQUESTS_ALLOWED {
        Check::fail(
            NO_RETRY_LOOP_AFTER_REFUSAL,
            format!(
                "after its refresh was refused the client sent {} more requests bound to fail \
                 (at most {DOOMED_REQUESTS_ALLOWED}) instead of stopping or authorizing again",
                doomed.len()
            ),
            evidence,
        )
    } else {
        Check::pass(
            NO_RETRY_LOOP_AFTER_REFUSAL,
            format!(
                "after its refresh was refused the client sent {} request(s) bound to fail, then \
                 stopped or authorized again",
                doomed.len()
            ),
            evidence,
        )
    }
}

/// The requests after `from` that must fail — MCP requests refused for want of a valid token
/// (401) and refused `refresh_token` grants — up to the client's next authorization (its first
/// authorization request, or an `authorization_code` grant), or the end of the log.
fn doomed_until_authorized(log: &[AccessRecord], from: u64) -> Vec<&AccessRecord> {
    log.iter()
        .filter(|r| r.seq > from)
        .take_while(|r| {
            !((r.phase == Phase::Token
                && r.grant_type.as_deref() == Some("authorization_code")
                && r.status == 200)
                || (r.phase == Phase::Authorization && r.method == "GET"))
        })
        .filter(|r| {
            (r.phase == Phase::Mcp && r.status == 401)
                || (r.phase == Phase::Token
                    && r.grant_type.as_deref() == Some("refresh_token")
                    && r.status >= 400)
        })
        .collect()
}

/// MCP Authorization › "Token Handling" and OAuth 2.1 §5.3, judged for waste after a deliberate
/// token loss (a restart that forgot every token, session and registration): the client may
/// find out (its request meets a 401, a concurrent stream meets one too, its refresh is refused,
/// one more connection attempt), and then it must authorize again or stop and say so. Requests
/// bound to fail beyond [`TOKEN_LOSS_DOOMED_ALLOWED`], before any new authorization, are probing
/// a server that has already said no.
pub fn no_probing_after_token_loss(log: &[AccessRecord], lost_at: u64) -> Check {
    let doomed = doomed_until_authorized(log, lost_at);
    let reauthorized = log
        .iter()
        .find(|r| r.seq > lost_at && r.phase == Phase::Authorization && r.method == "GET");
    let mut evidence: Vec<String> = doomed.iter().take(16).map(|r| evidence_line(r)).collect();
    if doomed.len() > 16 {
        evidence.push(format!("… and {} more", doomed.len() - 16));
    }
    let ending = match reauthorized {
        Some(r) => {
            evidence.push(evidence_line(r));
            "before it authorized again"
        }
        None => "and it never authorized again",
    };
    if doomed.len() > TOKEN_LOSS_DOOMED_ALLOWED {
        Check::fail(
            NO_PROBING_AFTER_TOKEN_LOSS,
            format!(
                "after the server lost every token the client sent {} requests bound to fail \
                 (at most {TOKEN_LOSS_DOOMED_ALLOWED}) {ending}: it kept probing instead of \
                 authorizing again or stopping",
                doomed.len()
            ),
            evidence,
        )
    } else {
        Check::pass(
            NO_PROBING_AFTER_TOKEN_LOSS,
            format!(
                "after the server lost every token the client sent {} request(s) bound to fail \
                 {ending}",
                doomed.len()
            ),
            evidence,
        )
    }
}

/// Tools › "List Changed Notification": after `notifications/tools/list_changed` the client
/// lists tools again.
pub fn relisted_after_list_changed(log: &[AccessRecord], after: u64) -> Check {
    match mcp_after(log, after).find(|r| {
        r.rpc_method.as_deref() == Some("tools/list") && is_authenticated(r) && r.status == 200
    }) {
        Some(list) => Check::pass(
            RELISTED_AFTER_LIST_CHANGED,
            "after the list_changed notification the client listed tools again",
            vec![evidence_line(list)],
        ),
        None => Check::fail(
            RELISTED_AFTER_LIST_CHANGED,
            "after the list_changed notification the client never listed tools again",
            mcp_after(log, after).map(evidence_line).collect(),
        ),
    }
}

/// After a restart that lost every token and session, the client either gets going again (an
/// authenticated call succeeds) or tells the user (the tool result says authentication is
/// needed, or the agent is offered the authenticate pseudo-tool again). Silence fails.
pub fn recovered_or_told_after_restart(
    log: &[AccessRecord],
    views: &[mock_server::model_api::ModelView],
    after: u64,
    views_after: u64,
    agent_tool: &str,
    auth_tool: &str,
) -> Check {
    let mut evidence: Vec<String> = mcp_after(log, after).take(12).map(evidence_line).collect();
    let recovered = mcp_after(log, after).find(|r| {
        r.rpc_method.as_deref() == Some("tools/call") && is_authenticated(r) && r.status == 200
    });
    if let Some(call) = recovered {
        return Check::pass(
            RECOVERED_OR_TOLD_AFTER_RESTART,
            "after the restart the client's tool call went through",
            vec![evidence_line(call)],
        );
    }
    let result = tool_result(views, agent_tool, views_after);
    if let Some((seq, r)) = &result {
        evidence.push(format!(
            "model request #{seq}: result of {agent_tool} (is_error {}): {}",
            r.is_error,
            r.text.lines().next().unwrap_or_default()
        ));
    }
    let told_in_result = result.as_ref().is_some_and(|(_, r)| {
        let text = r.text.to_lowercase();
        r.is_error && (text.contains("auth") || text.contains("sign in") || text.contains("/mcp"))
    });
    let offered_again = views
        .iter()
        .filter(|v| v.seq > views_after)
        .find(|v| v.can_reach(auth_tool));
    if let Some(v) = offered_again {
        evidence.push(model::offer_summary(v));
    }
    if told_in_result || offered_again.is_some() {
        Check::pass(
            RECOVERED_OR_TOLD_AFTER_RESTART,
            "after the restart the client told the agent that the server needs authentication",
            evidence,
        )
    } else {
        Check::fail(
            RECOVERED_OR_TOLD_AFTER_RESTART,
            "after the restart the client neither got going again nor said authentication is needed",
            evidence,
        )
    }
}

/// The first result of `tool` the agent saw after model request `after` that it had not seen by
/// then (told apart by `tool_use_id`: some versions send every earlier result again with each
/// request, others only the newest).
pub fn new_tool_result(
    views: &[mock_server::model_api::ModelView],
    tool: &str,
    after: u64,
) -> Option<(u64, mock_server::model_api::ToolResultSeen)> {
    let seen: std::collections::HashSet<&str> = views
        .iter()
        .filter(|v| v.seq <= after)
        .flat_map(|v| v.tool_results.iter())
        .map(|r| r.tool_use_id.as_str())
        .collect();
    views
        .iter()
        .filter(|v| v.seq > after)
        .flat_map(|v| v.tool_results.iter().map(move |r| (v.seq, r)))
        .find(|(_, r)| {
            r.tool_name.as_deref() == Some(tool) && !seen.contains(r.tool_use_id.as_str())
        })
        .map(|(seq, r)| (seq, r.clone()))
}

/// The records after `after` on which the server committed a fault.
fn faulted_after(log: &[AccessRecord], after: u64) -> impl Iterator<Item = &AccessRecord> {
    mcp_after(log, after).filter(|r| {
        r.fault
            .as_deref()
            .is_some_and(|f| f.contains("mcp-error") || f.contains("dropped-connection"))
    })
}

/// A transient transport fault (a 5xx answer, a connection closed without a response) hit the
/// client after the login; the agent's call must then either go through (the client retried)
/// or come back to the agent as an error (the client told it). A call result that reaches the
/// agent as a success although the server never ran the call, or no recovery and no word, fails.
///
/// MCP sets no retry rule for either; RFC 9110 §15.6.4 makes a 503 temporary ("likely be
/// alleviated after some delay"), and §9.2.2 says a client SHOULD NOT automatically retry a
/// non-idempotent request (a `tools/call` POST) unless it knows the request was never applied,
/// so telling the agent is as correct as retrying. Judged from the access log (which requests
/// the fault hit, `fault`) and the agent's view of the call's result.
pub fn recovered_or_told_after_fault(
    name: &str,
    log: &[AccessRecord],
    views: &[mock_server::model_api::ModelView],
    after: u64,
    views_after: u64,
    agent_tool: &str,
    server_tool: &str,
) -> Check {
    let faulted: Vec<&AccessRecord> = faulted_after(log, after).collect();
    let Some(first) = faulted.first() else {
        return Check::fail(
            name,
            "the fault never hit the client's requests, so its recovery could not be judged",
            mcp_after(log, after).take(12).map(evidence_line).collect(),
        );
    };
    let mut evidence: Vec<String> = faulted.iter().map(|r| evidence_line(r)).collect();
    let went_through = mcp_after(log, first.seq).find(|r| {
        r.rpc_method.as_deref() == Some("tools/call")
            && r.tool_name.as_deref() == Some(server_tool)
            && is_authenticated(r)
            && r.status == 200
    });
    let result = new_tool_result(views, agent_tool, views_after);
    if let Some((seq, r)) = &result {
        evidence.push(format!(
            "model request #{seq}: result of {agent_tool} (is_error {}): {}",
            r.is_error,
            r.text.lines().next().unwrap_or_default()
        ));
    }
    match (went_through, &result) {
        (Some(call), Some((_, r))) if !r.is_error => {
            evidence.push(evidence_line(call));
            Check::pass(
                name,
                "after the fault the client got the call through and the agent its result",
                evidence,
            )
        }
        (_, Some((_, r))) if r.is_error => Check::pass(
            name,
            "the call failed and the client told the agent so",
            evidence,
        ),
        (None, Some(_)) => Check::fail(
            name,
            "the agent was handed a successful result for a call the server never ran",
            evidence,
        ),
        _ => {
            evidence.extend(mcp_after(log, first.seq).take(10).map(evidence_line));
            Check::fail(
                name,
                "after the fault the client neither got the call through nor told the agent",
                evidence,
            )
        }
    }
}

/// Once a transient fault has passed, the client must be usable again: the agent's next call
/// (after `after` in the log, `views_after` in the model's view) reaches the server, is
/// answered 200 and its result reaches the agent. A client that leaves the server marked broken
/// after one 5xx or one dropped connection fails.
pub fn tool_call_after_fault(
    log: &[AccessRecord],
    views: &[mock_server::model_api::ModelView],
    after: u64,
    views_after: u64,
    agent_tool: &str,
    server_tool: &str,
) -> Check {
    let call = mcp_after(log, after).find(|r| {
        r.rpc_method.as_deref() == Some("tools/call")
            && r.tool_name.as_deref() == Some(server_tool)
            && is_authenticated(r)
            && r.status == 200
    });
    let result = new_tool_result(views, agent_tool, views_after);
    let mut evidence: Vec<String> = call.map(evidence_line).into_iter().collect();
    if let Some((seq, r)) = &result {
        evidence.push(format!(
            "model request #{seq}: result of {agent_tool} (is_error {}): {}",
            r.is_error,
            r.text.lines().next().unwrap_or_default()
        ));
    }
    match (call, &result) {
        (Some(_), Some((_, r))) if !r.is_error => Check::pass(
            TOOL_CALL_AFTER_FAULT,
            "after the fault had passed, the agent's next call went through",
            evidence,
        ),
        _ => {
            evidence.extend(mcp_after(log, after).take(10).map(evidence_line));
            Check::fail(
                TOOL_CALL_AFTER_FAULT,
                "after the fault had passed, the agent's next call did not go through",
                evidence,
            )
        }
    }
}

/// MCP authorization › "Scope Challenge Handling" (RFC 6750 §3.1): after 403
/// `insufficient_scope` the client re-authorizes asking for the challenged scope and retries,
/// without looping. Judged by a new authorization-code exchange after the 403 and the call then
/// succeeding (the server only lets it through with the scope), with at most two 403s.
pub fn scope_stepped_up(log: &[AccessRecord], after: u64) -> Check {
    let forbidden: Vec<&AccessRecord> = mcp_after(log, after).filter(|r| r.status == 403).collect();
    let Some(first) = forbidden.first() else {
        return Check::fail(
            SCOPE_STEPPED_UP,
            "the client never met the scope challenge, so its step-up could not be judged",
            mcp_after(log, after).map(evidence_line).collect(),
        );
    };
    let exchange = log.iter().find(|r| {
        r.seq > first.seq
            && r.phase == Phase::Token
            && r.grant_type.as_deref() == Some("authorization_code")
            && r.status == 200
    });
    let call = exchange.and_then(|x| {
        mcp_after(log, x.seq).find(|r| {
            r.rpc_method.as_deref() == Some("tools/call") && is_authenticated(r) && r.status == 200
        })
    });
    let mut evidence = vec![evidence_line(first)];
    evidence.extend(exchange.map(evidence_line));
    evidence.extend(call.map(evidence_line));
    evidence.push(format!(
        "{} response(s) 403 after the event",
        forbidden.len()
    ));
    if forbidden.len() > 2 {
        Check::fail(
            SCOPE_STEPPED_UP,
            "the client kept retrying into the scope challenge",
            evidence,
        )
    } else if exchange.is_some() && call.is_some() {
        Check::pass(
            SCOPE_STEPPED_UP,
            "after 403 insufficient_scope the client re-authorized and the call went through",
            evidence,
        )
    } else {
        evidence.extend(
            log.iter()
                .filter(|r| r.seq > first.seq)
                .take(10)
                .map(evidence_line),
        );
        Check::fail(
            SCOPE_STEPPED_UP,
            "after 403 insufficient_scope the client did not re-authorize and retry",
            evidence,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(
        seq: u64,
        phase: Phase,
        rpc: Option<&str>,
        bearer: Bearer,
        status: u16,
    ) -> AccessRecord {
        AccessRecord {
            seq,
            at_ms: seq,
            method: "POST".to_owned(),
            path: "/".to_owned(),
            phase,
            rpc_method: rpc.map(str::to_owned),
            rpc_id: None,
            rpc_kind: None,
            tool_name: None,
            grant_type: (phase == Phase::Token).then(|| "refresh_token".to_owned()),
            client_id: None,
            bearer,
            session_id: Some("s".to_owned()),
            protocol_version: None,
            accept: None,
            user_agent: None,
            status,
            error: (status == 400).then(|| "invalid_grant".to_owned()),
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

    fn valid(id: &str) -> Bearer {
        Bearer::Valid {
            token_id: id.to_owned(),
        }
    }

    #[test]
    fn a_refresh_after_the_401_and_a_successful_retry_pass() {
        let log = vec![
            record(
                1,
                Phase::Mcp,
                Some("tools/call"),
                Bearer::Expired {
                    token_id: "at-1".into(),
                },
                401,
            ),
            record(2, Phase::Token, None, Bearer::None, 200),
            record(3, Phase::Mcp, Some("tools/call"), valid("at-2"), 200),
        ];
        assert_eq!(refreshed_after_401(&log, 0).verdict, Verdict::Pass);
    }

    #[test]
    fn a_401_without_a_refresh_fails() {
        let log = vec![
            record(
                1,
                Phase::Mcp,
                Some("tools/call"),
                Bearer::Revoked {
                    token_id: "at-1".into(),
                },
                401,
            ),
            record(
                2,
                Phase::Mcp,
                Some("tools/call"),
                Bearer::Revoked {
                    token_id: "at-1".into(),
                },
                401,
            ),
        ];
        assert_eq!(refreshed_after_401(&log, 0).verdict, Verdict::Fail);
    }

    #[test]
    fn a_refused_refresh_grant_is_rotated_token_reuse() {
        let ok = vec![
            record(1, Phase::Token, None, Bearer::None, 200),
            record(2, Phase::Token, None, Bearer::None, 200),
        ];
        assert_eq!(no_rotated_refresh_reuse(&ok, 0).verdict, Verdict::Pass);
        let reused = vec![
            record(1, Phase::Token, None, Bearer::None, 200),
            record(2, Phase::Token, None, Bearer::None, 400),
        ];
        assert_eq!(no_rotated_refresh_reuse(&reused, 0).verdict, Verdict::Fail);
        assert_eq!(no_rotated_refresh_reuse(&ok[..1], 0).verdict, Verdict::Fail);
    }

    fn in_session(mut r: AccessRecord, session: &str) -> AccessRecord {
        r.session_id = Some(session.to_owned());
        r
    }

    fn init(seq: u64, session: &str) -> AccessRecord {
        in_session(
            record(seq, Phase::Mcp, Some("initialize"), valid("at-1"), 200),
            session,
        )
    }

    fn call(seq: u64, session: &str, status: u16) -> AccessRecord {
        in_session(
            record(seq, Phase::Mcp, Some("tools/call"), valid("at-1"), status),
            session,
        )
    }

    #[test]
    fn one_new_session_used_for_everything_after_the_loss_passes() {
        let log = vec![call(1, "old", 404), init(2, "new"), call(3, "new", 200)];
        assert_eq!(one_session_after_loss(&log, 0).verdict, Verdict::Pass);
    }

    #[test]
    fn racing_initializes_a_third_session_or_retrying_the_dead_one_fail() {
        // Two initializes racing each other.
        let racing = vec![
            call(1, "old", 404),
            init(2, "a"),
            init(3, "b"),
            call(4, "b", 200),
        ];
        let check = one_session_after_loss(&racing, 0);
        assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
        assert!(check.summary.contains("2 new sessions"), "{check:?}");
        // The call retried in another session while the new one runs.
        let elsewhere = vec![
            call(1, "old", 404),
            init(2, "new"),
            call(3, "other", 200),
            call(4, "new", 200),
        ];
        assert_eq!(one_session_after_loss(&elsewhere, 0).verdict, Verdict::Fail);
        // The dead session retried over and over.
        let mut retried = vec![call(1, "old", 404)];
        retried.extend((2..=4).map(|seq| call(seq, "old", 404)));
        retried.extend([init(5, "new"), call(6, "new", 200)]);
        let check = one_session_after_loss(&retried, 0);
        assert!(check.summary.contains("kept sending"), "{check:?}");
        // No new session at all.
        let none = vec![call(1, "old", 404), call(2, "old", 404)];
        assert_eq!(one_session_after_loss(&none, 0).verdict, Verdict::Fail);
    }

    #[test]
    fn a_refresh_per_expiry_and_one_more_pass_and_a_storm_fails() {
        let refresh = |seq| record(seq, Phase::Token, None, Bearer::None, 200);
        let two = vec![refresh(1), refresh(2)];
        assert_eq!(no_refresh_storm(&two, 0, 1).verdict, Verdict::Pass);
        assert_eq!(no_refresh_storm(&[], 0, 1).verdict, Verdict::Pass);
        let four: Vec<AccessRecord> = (1..=4).map(refresh).collect();
        let check = no_refresh_storm(&four, 0, 1);
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(
            check.summary.contains("4 refresh grants for 1 expiry"),
            "{check:?}"
        );
        assert_eq!(no_refresh_storm(&four[..3], 0, 2).verdict, Verdict::Pass);
    }

    #[test]
    fn after_a_refused_refresh_a_few_doomed_requests_pass_and_a_loop_fails() {
        let refused = |seq| record(seq, Phase::Token, None, Bearer::None, 400);
        let dead = |seq| record(seq, Phase::Mcp, Some("tools/list"), Bearer::None, 401);
        let mut reauthorized = record(9, Phase::Token, None, Bearer::None, 200);
        reauthorized.grant_type = Some("authorization_code".to_owned());
        let stopped = vec![refused(1), dead(2)];
        assert_eq!(
            no_retry_loop_after_refusal(&stopped, 0).verdict,
            Verdict::Pass
        );
        let mut looping = vec![refused(1)];
        looping.extend((2..=6).flat_map(|seq| [dead(seq * 2), refused(seq * 2 + 1)]));
        let check = no_retry_loop_after_refusal(&looping, 0);
        assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
        assert!(check.summary.contains("10 more requests"), "{check:?}");
        // What follows a new authorization is not counted.
        let mut after_login = vec![refused(1), dead(2), reauthorized];
        after_login.extend((10..=14).map(dead));
        assert_eq!(
            no_retry_loop_after_refusal(&after_login, 0).verdict,
            Verdict::Pass
        );
        assert_eq!(
            no_retry_loop_after_refusal(&[dead(1)], 0).verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn after_a_token_loss_finding_out_passes_and_probing_on_fails() {
        let dead = |seq| record(seq, Phase::Mcp, Some("tools/call"), Bearer::Unknown, 401);
        let refused = |seq| record(seq, Phase::Token, None, Bearer::None, 400);
        let mut authorize = record(20, Phase::Authorization, None, Bearer::None, 200);
        authorize.method = "GET".to_owned();
        authorize.path = "/oauth/authorize".to_owned();
        // Found out (a 401, a refused refresh) and authorized again.
        let recovered = vec![dead(1), refused(2), authorize.clone(), dead(21)];
        let check = no_probing_after_token_loss(&recovered, 0);
        assert_eq!(check.verdict, Verdict::Pass, "{check:?}");
        assert!(
            check.summary.contains("before it authorized again"),
            "{check:?}"
        );
        // Found out and stopped.
        assert_eq!(
            no_probing_after_token_loss(&[dead(1), dead(2)], 0).verdict,
            Verdict::Pass
        );
        // A 401 on a timer, never authorizing: probing.
        let probing: Vec<AccessRecord> = (1..=6).map(dead).collect();
        let check = no_probing_after_token_loss(&probing, 0);
        assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
        assert!(
            check.summary.contains("never authorized again"),
            "{check:?}"
        );
        // Requests before the loss are not counted.
        assert_eq!(
            no_probing_after_token_loss(&probing, 3).verdict,
            Verdict::Pass
        );
    }

    fn result_view(seq: u64, is_error: bool) -> mock_server::model_api::ModelView {
        let id = format!("toolu_{seq}");
        let view = json!({
            "seq": seq, "model": null, "kind": "main-tool-results",
            "tools_offered": [], "deferred_tools": [], "needs_auth_lines": [],
            "tool_results": [{"tool_use_id": id, "tool_name": "mcp__mock__hello",
                              "is_error": is_error, "text": if is_error { "HTTP 503" } else { "Hello" }}],
            "user_prompt": null, "answer": "say Done."
        });
        serde_json::from_value(view).expect("a model view")
    }

    fn faulted(seq: u64, fault: &str) -> AccessRecord {
        let mut r = record(seq, Phase::Mcp, Some("tools/call"), valid("at-1"), 503);
        r.tool_name = Some("hello".to_owned());
        r.fault = Some(fault.to_owned());
        r
    }

    fn hello_call(seq: u64, status: u16) -> AccessRecord {
        let mut r = record(seq, Phase::Mcp, Some("tools/call"), valid("at-1"), status);
        r.tool_name = Some("hello".to_owned());
        r
    }

    fn judge(log: &[AccessRecord], views: &[mock_server::model_api::ModelView]) -> Verdict {
        recovered_or_told_after_fault(
            RECOVERED_OR_TOLD_AFTER_5XX,
            log,
            views,
            0,
            0,
            "mcp__mock__hello",
            "hello",
        )
        .verdict
    }

    #[test]
    fn after_a_fault_a_retry_or_a_word_to_the_agent_passes_and_silence_or_a_lie_fails() {
        let fault = faulted(1, "mcp-error 503 (1 of 2)");
        // Retried through.
        assert_eq!(
            judge(
                &[fault.clone(), hello_call(2, 200)],
                &[result_view(1, false)]
            ),
            Verdict::Pass
        );
        // Told the agent.
        assert_eq!(
            judge(std::slice::from_ref(&fault), &[result_view(1, true)]),
            Verdict::Pass
        );
        // Negative controls: a success the server never produced; no result at all; no fault.
        assert_eq!(
            judge(std::slice::from_ref(&fault), &[result_view(1, false)]),
            Verdict::Fail
        );
        assert_eq!(judge(&[fault], &[]), Verdict::Fail);
        assert_eq!(
            judge(&[hello_call(1, 200)], &[result_view(1, false)]),
            Verdict::Fail
        );
    }

    #[test]
    fn the_call_after_the_fault_must_go_through_and_reach_the_agent() {
        let ok = tool_call_after_fault(
            &[hello_call(5, 200)],
            &[result_view(3, false)],
            4,
            2,
            "mcp__mock__hello",
            "hello",
        );
        assert_eq!(ok.verdict, Verdict::Pass);
        // Negative controls: the client stayed broken (the agent got an error, nothing reached
        // the server); an earlier successful call does not count.
        let broken = tool_call_after_fault(
            &[hello_call(3, 200)],
            &[result_view(2, false), result_view(5, true)],
            4,
            4,
            "mcp__mock__hello",
            "hello",
        );
        assert_eq!(broken.verdict, Verdict::Fail);
        // A version that sends every earlier result again: the old success is not the new call.
        let mut resent = result_view(5, true);
        resent
            .tool_results
            .insert(0, result_view(2, false).tool_results[0].clone());
        let stale = tool_call_after_fault(
            &[hello_call(3, 200), hello_call(5, 500)],
            &[result_view(2, false), resent],
            4,
            4,
            "mcp__mock__hello",
            "hello",
        );
        assert_eq!(stale.verdict, Verdict::Fail, "{stale:?}");
    }

    #[test]
    fn a_new_session_must_follow_the_404_and_be_used() {
        let mut init = record(2, Phase::Mcp, Some("initialize"), valid("at-1"), 200);
        init.session_id = Some("new".to_owned());
        let mut call = record(3, Phase::Mcp, Some("tools/call"), valid("at-1"), 200);
        call.session_id = Some("new".to_owned());
        let lost = record(1, Phase::Mcp, Some("tools/call"), valid("at-1"), 404);
        let log = vec![lost.clone(), init.clone(), call];
        assert_eq!(
            reinitialized_after_session_loss(&log, 0).verdict,
            Verdict::Pass
        );
        let never_used = vec![lost, init];
        assert_eq!(
            reinitialized_after_session_loss(&never_used, 0).verdict,
            Verdict::Fail
        );
    }
}
