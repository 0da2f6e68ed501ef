//! Scenarios where the agent is part of the story: the scripted model calls the authenticate
//! pseudo-tool (the reported bug's path), and what the agent is offered afterwards is checked as
//! well as what the server saw.

use std::time::{Duration, Instant};

use mock_server::model_api::{ModelApi, ModelView, RequestKind, ToolResultSeen, Turn};
use serde_json::json;

use crate::checks::model;
use crate::checks::{self, Check};
use crate::clients::{ClientUnderTest, DriveError, RunEnv, ServerStatus, SessionOptions, Step};
use crate::drive::browser::ScriptedBrowser;
use crate::scenarios::steps::{
    add_server, client_reported_success, settle_quiet, settle_reconnect, slash_mcp_auth,
    status_check, Run, RunOptions, FOLLOW_UP_QUIET, SERVER_NAME,
};

/// Bound on the model receiving something the harness waits for (a prompt, a tool result).
const MODEL_TIMEOUT: Duration = Duration::from_secs(90);
/// The server tool the agent calls once connected, and its input.
const TOOL_TO_CALL: &str = "hello";

const PROMPT_CONNECT: &str = "Please connect to the mock MCP server.";
const PROMPT_USE: &str = "Now greet me using the mock server's hello tool.";

pub const AUTHENTICATE_TOOL_OFFERED: &str = "authenticate-tool-offered";
pub const NEEDS_AUTH_CLEARED: &str = "needs-auth-cleared";
pub const PRINT_MODE_CONNECTS: &str = "print-mode-connects";

/// Polls the model's views until `find` returns something, within `timeout`.
pub(crate) fn wait_for_view<T>(
    model: &ModelApi,
    what: &str,
    timeout: Duration,
    find: impl Fn(&[ModelView]) -> Option<T>,
) -> Result<T, DriveError> {
    let started = Instant::now();
    loop {
        let views = model.views();
        if let Some(found) = find(&views) {
            return Ok(found);
        }
        if started.elapsed() >= timeout {
            let seen: Vec<String> = views
                .iter()
                .map(|v| format!("#{} {:?} → {}", v.seq, v.kind, v.answer))
                .collect();
            return Err(DriveError::Timeout {
                what: what.to_owned(),
                secs: timeout.as_secs_f64(),
                detail: format!("model requests so far:\n{}", seen.join("\n")),
            });
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// The first result of `tool` that reached the model after request `after`.
pub(crate) fn tool_result(
    views: &[ModelView],
    tool: &str,
    after: u64,
) -> Option<(u64, ToolResultSeen)> {
    views
        .iter()
        .filter(|v| v.seq > after)
        .flat_map(|v| v.tool_results.iter().map(move |r| (v.seq, r)))
        .find(|(_, r)| r.tool_name.as_deref() == Some(tool))
        .map(|(seq, r)| (seq, r.clone()))
}

/// The turn started by `prompt` has ended: a later request was answered with text.
pub(crate) fn turn_ended(views: &[ModelView], prompt: &str) -> Option<u64> {
    let start = views.iter().find(|v| {
        v.kind == RequestKind::MainUserPrompt
            && v.user_prompt.as_deref().is_some_and(|p| p.contains(prompt))
    })?;
    views
        .iter()
        .filter(|v| v.seq >= start.seq && v.kind != RequestKind::Side)
        .find(|v| v.answer.starts_with("say "))
        .map(|v| v.seq)
}

fn authorize_url(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || c == '"' || c == '`' || c == '<' || c == '>')
        .find(|w| w.starts_with("http") && w.contains("/authorize"))
        .map(str::to_owned)
}

/// `authenticate_tool` and `authenticate_paste`.
pub(crate) fn authenticate_tool(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    env: &RunEnv<'_>,
    model: &ModelApi,
    options: &RunOptions,
    paste: bool,
) -> Result<(), DriveError> {
    add_server(run, client, env)?;
    let before = client.server_status(env, SERVER_NAME)?;
    run.commands.push(client.reproduce(Step::ServerStatus));
    let needs_auth_evidence = match &before {
        ServerStatus::NeedsAuth(line) => line.clone(),
        _ => {
            run.checks
                .push(status_check("needs-auth-before-login", &before, false));
            return Ok(());
        }
    };

    let auth_tool = client.authenticate_tool(SERVER_NAME);
    let complete_tool = client.complete_authentication_tool(SERVER_NAME);
    model.push_turn(
        Turn::new()
            .call(&auth_tool, json!({}))
            .say("Open the link above to sign in."),
    );
    let session_options = SessionOptions {
        allowed_servers: vec![SERVER_NAME.to_owned()],
    };
    let mut session = client.start_session_with(env, &session_options)?;
    run.commands.push(client.reproduce(Step::SessionPrompt {
        server: SERVER_NAME,
        prompt: PROMPT_CONNECT,
    }));
    let result = (|| -> Result<(), DriveError> {
        client.send_prompt(&mut session, PROMPT_CONNECT)?;
        let first = wait_for_view(
            model,
            "the first prompt to reach the model",
            MODEL_TIMEOUT,
            |views| {
                views
                    .iter()
                    .find(|v| v.kind == RequestKind::MainUserPrompt)
                    .cloned()
            },
        )?;
        if !first.can_reach(&auth_tool) {
            // Positive evidence: the server needs authentication, and the agent's request has
            // neither the pseudo-tool nor a deferred entry for it.
            run.checks.push(Check::not_applicable(
                AUTHENTICATE_TOOL_OFFERED,
                "this version offers the agent no authenticate pseudo-tool while the server needs authentication",
                vec![
                    format!("`mcp list`: {needs_auth_evidence}"),
                    format!(
                        "model request #{}: tools [{}]; deferred [{}]",
                        first.seq,
                        first.tools_offered.join(", "),
                        first.deferred_tools.join(", ")
                    ),
                ],
            ));
            return Ok(());
        }
        run.checks.push(Check::pass(
            AUTHENTICATE_TOOL_OFFERED,
            "the agent was offered the authenticate pseudo-tool while the server needed authentication",
            vec![model::offer_summary(&first)],
        ));
        let (seq, started) = wait_for_view(
            model,
            "the authenticate pseudo-tool's result to reach the model",
            MODEL_TIMEOUT,
            |views| tool_result(views, &auth_tool, 0),
        )?;
        let url = authorize_url(&started.text).ok_or_else(|| DriveError::Unexpected {
            what: format!(
                "the result of {auth_tool} (model request #{seq}) holds no authorize URL"
            ),
            detail: started.text.clone(),
        })?;
        let browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
        if paste {
            let callback = browser.consent_without_callback(&url)?;
            model.push_turn(
                Turn::new()
                    .call(
                        &complete_tool,
                        client.complete_authentication_input(&callback),
                    )
                    .say("You are signed in."),
            );
            let prompt = format!("I approved it; the browser shows this URL: {callback}");
            client.send_prompt(&mut session, &prompt)?;
            let started_waiting = Instant::now();
            let (seq, completed) = loop {
                if let Some(found) = tool_result(&model.views(), &complete_tool, 0) {
                    break found;
                }
                if let Some(question) = client.allow_pending_tool_call(&mut session)? {
                    run.commands.push(format!(
                        "# the client asked, and the harness allowed: {question}"
                    ));
                }
                if started_waiting.elapsed() >= MODEL_TIMEOUT {
                    return Err(DriveError::Timeout {
                        what: "the complete-authentication pseudo-tool's result to reach the model"
                            .to_owned(),
                        secs: MODEL_TIMEOUT.as_secs_f64(),
                        detail: session.screen(),
                    });
                }
                std::thread::sleep(Duration::from_millis(25));
            };
            let line = format!(
                "model request #{seq}: result of {complete_tool} (is_error {}): {}",
                completed.is_error,
                completed.text.lines().next().unwrap_or_default()
            );
            run.checks.push(if completed.is_error {
                Check::fail(
                    "callback-accepted",
                    "the client refused the pasted callback URL",
                    vec![line],
                )
            } else {
                Check::pass(
                    "callback-accepted",
                    "the client took the pasted callback URL",
                    vec![line],
                )
            });
        } else {
            let consent = browser.complete_consent(&url)?;
            run.commands.push(format!(
                "# open the URL from the tool result; consent redirected to {}",
                consent.callback_url
            ));
        }
        settle_reconnect(run.mock)?;

        // The second turn: every listed tool must reach the agent, the pseudo-tools must be gone,
        // and a real call must go through.
        let mut turn = Turn::new();
        let mut expected: Vec<String> = run
            .in_process()?
            .tool_names()
            .iter()
            .map(|t| client.mcp_tool_name(SERVER_NAME, t))
            .collect();
        if let Some(extra) = &options.expect_unlisted_tool {
            expected.push(client.mcp_tool_name(SERVER_NAME, extra));
        }
        for tool in &expected {
            turn = turn.expect_offered(tool);
        }
        let agent_tool = client.mcp_tool_name(SERVER_NAME, TOOL_TO_CALL);
        model.push_turn(
            turn.expect_withdrawn(&auth_tool)
                .expect_withdrawn(&complete_tool)
                .call(&agent_tool, json!({"name": "harness"}))
                .say("Done."),
        );
        client.send_prompt(&mut session, PROMPT_USE)?;
        wait_for_view(
            model,
            "the agent's second turn to end",
            MODEL_TIMEOUT,
            |views| turn_ended(views, PROMPT_USE),
        )?;
        settle_quiet(run.mock, FOLLOW_UP_QUIET)?;
        let log = run.mock.received_requests()?;
        let views = model.views();
        let script = model.script_report();
        run.checks.extend(checks::reconnect_checks(&log));
        run.checks.push(checks::bearer_on_every_request(&log, None));
        run.checks
            .push(model::tools_offered_to_model(&script, &views));
        run.checks
            .push(model::pseudo_tools_withdrawn(&script, &views));
        run.checks.push(model::tool_call_roundtrip(
            &log,
            &views,
            &agent_tool,
            TOOL_TO_CALL,
        ));
        Ok(())
    })();
    run.final_screen = session.screen();
    session.terminate();
    result
}

/// `print_after_auth`: authenticate through `/mcp`, leave, then a `-p` run in the same home.
pub(crate) fn print_after_auth(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    env: &RunEnv<'_>,
    options: &RunOptions,
) -> Result<(), DriveError> {
    add_server(run, client, env)?;
    let mut session = client.start_session(env)?;
    run.commands.push(client.reproduce(Step::InSessionLogin {
        server: SERVER_NAME,
        allow_tools: false,
        then: "leave the session",
    }));
    let auth = slash_mcp_auth(run, client, env, &mut session);
    run.final_screen = session.screen();
    client.exit_session(&mut session)?;
    session.terminate();
    let auth = auth?;
    run.checks
        .push(checks::token_exchanged(&run.mock.received_requests()?));
    run.checks.push(client_reported_success(&auth));
    run.auth = Some(auth);

    if options.plant_needs_auth {
        client.plant_needs_auth(env, SERVER_NAME)?;
        run.commands.push(format!(
            "# fault: the needs-auth cache was made to name {SERVER_NAME} before the -p run"
        ));
    }
    // Judged as the `-p` run will find it.
    let state = client.needs_auth_state(env, SERVER_NAME)?;
    run.checks.push(if state.names_server {
        Check::fail(
            NEEDS_AUTH_CLEARED,
            "the client still records the server as needing authentication",
            vec![state.evidence],
        )
    } else {
        Check::pass(
            NEEDS_AUTH_CLEARED,
            "the client's needs-authentication state no longer names the server",
            vec![state.evidence],
        )
    });

    let boundary = run
        .mock
        .received_requests()?
        .last()
        .map(|r| r.seq)
        .unwrap_or(0);
    let session_options = SessionOptions {
        allowed_servers: vec![SERVER_NAME.to_owned()],
    };
    let print = client.print_mode(env, SERVER_NAME, "Say hello.", &session_options)?;
    run.commands.push(client.reproduce(Step::Print {
        server: SERVER_NAME,
        prompt: "Say hello.",
    }));
    let log = run.mock.received_requests()?;
    let later: Vec<_> = log.iter().filter(|r| r.seq > boundary).collect();
    let init = later.iter().find(|r| {
        r.rpc_method.as_deref() == Some("initialize")
            && checks::is_authenticated(r)
            && r.status == 200
    });
    let list = later.iter().find(|r| {
        r.rpc_method.as_deref() == Some("tools/list")
            && checks::is_authenticated(r)
            && r.status == 200
    });
    let mut evidence = vec![format!(
        "first stream line: status of {SERVER_NAME} = {}",
        print.server_status.as_deref().unwrap_or("(not listed)")
    )];
    evidence.extend(init.map(|r| checks::evidence_line(r)));
    evidence.extend(list.map(|r| checks::evidence_line(r)));
    if init.is_none() || list.is_none() {
        evidence.push(format!(
            "server saw {} request(s) during the -p run",
            later.len()
        ));
    }
    let connected = print.server_status.as_deref() == Some("connected");
    run.checks.push(if connected && init.is_some() && list.is_some() {
        Check::pass(
            PRINT_MODE_CONNECTS,
            "the -p run reported the server connected and initialized and listed tools with the stored token",
            evidence,
        )
    } else {
        Check::fail(
            PRINT_MODE_CONNECTS,
            "the -p run did not connect to the server with the stored token",
            evidence,
        )
    });
    // The session's requests and the `-p` process's, with the tokens the session stored.
    run.checks.push(checks::bearer_on_every_request(&log, None));
    run.print = Some(print);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorize_url_is_found_in_the_tool_result_text() {
        let text = "Ask the user to open this URL:\n\nhttp://127.0.0.1:5/oauth/authorize?a=b&c=d\n\nOnce they complete";
        assert_eq!(
            authorize_url(text).as_deref(),
            Some("http://127.0.0.1:5/oauth/authorize?a=b&c=d")
        );
        assert_eq!(authorize_url("no url here"), None);
    }
}
