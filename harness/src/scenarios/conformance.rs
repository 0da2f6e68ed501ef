//! The official conformance suite's client scenarios (`conformance:auth/metadata-default`, …) as
//! harness scenarios: one [`ScenarioDef`] per scenario the pinned suite lists
//! ([`client_mode::SCENARIOS`]), so `run`, `matrix`, `bisect` and the expectations file take them
//! by name like any other, while [`Scenario::ALL`] (what `harness run` runs by default) stays the
//! harness's own.
//!
//! One run: the suite is started in client mode for the scenario, its command being
//! `harness conformance-client --handoff DIR` (see [`crate::conformance::handoff`] for why the
//! client is driven here and not in that process). Once the command has handed over the suite
//! server's URL, a recording proxy goes in front of it (so the access log, timeline and bundle
//! work as against the mock), the client is given the proxy's URL and driven through the first
//! browser login path it has ([`LOGIN_PREFERENCE`]), lists the server's tools and, where it is an
//! agent, calls each of them (up to eight) through the model stand-in; then the command is told to exit,
//! the suite judges, and its `checks.json` becomes `conformance:<scenario>/<check>` checks.
//!
//! What is a failure: whatever the suite judged FAILURE (or WARNING); a client that could not be
//! driven (no login screen, a timeout), a suite that never ran the command or never finished,
//! a missing `checks.json` — each a `driver` failure, never "not applicable". The suite's SKIPPED
//! is "not applicable" with its reason.
//!
//! The scenarios' nominal login path is `automatic-at-connect` (the client meets the suite's 401
//! and signs in), for the expectations file; the path actually driven is in the run's commands.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::checks::{Check, Verdict};
use crate::clients::{ClientUnderTest, DriveError, LoginPath, ModelWire, SessionOptions, Step};
use crate::conformance::checks_file::{self, PREFIX};
use crate::conformance::client_mode::{self, SUITE_BOUND};
use crate::conformance::handoff::{self, Handoff, HANDOFF_WAIT};
use crate::drive::browser::ScriptedBrowser;
use crate::mock::MockTarget;
use crate::proxy::{ProxyOptions, RecordingProxy};
use crate::scenarios::def::{no_faults, Scenario, ScenarioDef};
use crate::scenarios::steps::{
    settle, settle_reconnect, Ctx, Grace, Run, FOLLOW_UP_QUIET, SERVER_NAME,
};

/// The login paths a suite scenario is driven through, best first: a session's own login (the
/// tool call follows in the same session), the client's own login at connect, the login command.
/// The agent pseudo-tool paths are left out: they need the model to start the login, which the
/// suite's scenarios say nothing about.
pub const LOGIN_PREFERENCE: [LoginPath; 3] = [
    LoginPath::SlashMcp,
    LoginPath::AutomaticAtConnect,
    LoginPath::LoginCommand,
];

/// Where the harness binary is, for the suite's command, when it is not the running executable
/// (the integration tests run from their own binary).
pub const HARNESS_BIN_ENV: &str = "HARNESS_BIN";

/// The client ID metadata document URL the suite's `auth/basic-cimd` expects (its example
/// client's; the suite never fetches it).
pub const SUITE_CLIENT_METADATA_URL: &str = "https://conformance-test.local/client-metadata.json";

const PROMPT: &str = "Use the conformance server's tool now.";

macro_rules! suite_scenarios {
    ($($name:literal),* $(,)?) => {
        /// One definition per suite client scenario, in the suite's order.
        pub static DEFS: [ScenarioDef; 48] = [$(ScenarioDef {
            name: concat!("conformance:", $name),
            describe: concat!(
                "the official conformance suite's client scenario ", $name,
                ": the client signs in to the suite's server, lists and calls its tools; the suite's checks judge it"
            ),
            login_path: LoginPath::AutomaticAtConnect,
            is_reconnect_check: false,
            faults: no_faults,
            // The suite's server is its own: the mock's credentials mode does not apply.
            credentials: mock_server::discovery::Credentials::Oauth,
            login_state: None,
            drive,
        }),*];
    };
}

client_mode::with_suite_scenarios!(suite_scenarios);

/// Every suite scenario, in the suite's order.
pub fn all() -> Vec<Scenario> {
    DEFS.iter().map(Scenario::new).collect()
}

/// The suite scenario named `name`: `conformance:auth/metadata-default`.
pub fn parse(name: &str) -> Option<Scenario> {
    DEFS.iter().find(|d| d.name == name).map(Scenario::new)
}

/// Whether `scenario` is one of the suite's.
pub fn is_suite_scenario(scenario: Scenario) -> bool {
    scenario.name().starts_with(PREFIX)
}

/// The suite's own name of the scenario (`auth/metadata-default`).
pub fn suite_name(scenario: Scenario) -> &'static str {
    scenario
        .name()
        .strip_prefix(PREFIX)
        .unwrap_or(scenario.name())
}

fn harness_binary() -> Result<String, DriveError> {
    if let Some(path) = std::env::var_os(HARNESS_BIN_ENV) {
        return Ok(path.to_string_lossy().into_owned());
    }
    let exe = std::env::current_exe()
        .map_err(|e| DriveError::Setup(format!("where is the harness binary? {e}")))?;
    let is_harness = |p: &std::path::Path| p.file_name().is_some_and(|n| n == "harness");
    if is_harness(&exe) {
        return Ok(exe.to_string_lossy().into_owned());
    }
    // A test binary in target/debug/deps: the harness is in target/debug.
    let beside = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("harness"));
    match beside {
        Some(path) if path.is_file() => Ok(path.to_string_lossy().into_owned()),
        _ => Err(DriveError::Setup(format!(
            "the suite's command is the harness binary, which is not beside {}: build it \
             (cargo build -p harness) or set {HARNESS_BIN_ENV}",
            exe.display()
        ))),
    }
}

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    let scenario = suite_name(run.scenario);
    let suite = crate::conformance::suite::ensure().map_err(|e| {
        DriveError::Setup(format!(
            "cannot install the conformance suite ({e}); the npm registry must be reachable, \
             or set MCP_CONFORMANCE_VERSION to a version already in the store"
        ))
    })?;
    let dir = ctx.env.sandbox.root().join("conformance");
    std::fs::create_dir_all(&dir)
        .map_err(|e| DriveError::Setup(format!("{}: {e}", dir.display())))?;
    let command = vec![
        harness_binary()?,
        "conformance-client".to_owned(),
        "--handoff".to_owned(),
        dir.to_string_lossy().into_owned(),
    ];
    let env: Vec<(String, String)> = ctx
        .env
        .sandbox
        .client_env()
        .into_iter()
        .filter(|(k, _)| matches!(k.as_str(), "HOME" | "PATH" | "TMPDIR" | "LANG"))
        .collect();
    let suite_run = client_mode::start(&suite, scenario, &command, &env, &dir)
        .map_err(|e| DriveError::Setup(e.to_string()))?;
    run.commands.push(format!(
        "# the conformance suite {} in client mode: {}",
        suite.version, suite_run.command
    ));
    let Some(handed) = handoff::wait_for(&dir, HANDOFF_WAIT, || suite_run.exited()) else {
        let results = suite_run.results.clone();
        let exit = suite_run.wait(Duration::from_secs(5));
        run.checks.extend(
            checks_file::read(scenario, &results)
                .into_iter()
                .filter(|c| c.name != "driver"),
        );
        return Err(DriveError::Unexpected {
            what: format!(
                "the conformance suite did not run its client command within {} s",
                HANDOFF_WAIT.as_secs()
            ),
            detail: exit.output,
        });
    };
    run.commands.push(format!(
        "# the suite's server: {} (protocol {}, context {})",
        handed.url,
        handed.protocol_version.as_deref().unwrap_or("-"),
        handed
            .context
            .as_ref()
            .map(Value::to_string)
            .unwrap_or_else(|| "none".to_owned())
    ));
    let proxy = RecordingProxy::start(&handed.url, &ProxyOptions::default())
        .map_err(|e| DriveError::Setup(format!("the recording proxy: {e}")))?;
    let driven = drive_client(run, client, ctx, &proxy, &handed);
    let _ = handoff::finish(&dir, i32::from(driven.is_err()));
    run.access_log = Some(proxy.received_requests()?);
    let machine_grant = machine_grant_seen(&proxy.exchanges());
    // The proxy's pooled connections to the suite's server would keep that server (and so the
    // suite) from exiting.
    drop(proxy);
    let results = suite_run.results.clone();
    let exit = suite_run.wait(SUITE_BOUND);
    if exit.timed_out {
        run.checks.push(Check::fail(
            "driver",
            format!(
                "the conformance suite did not finish within {} s; it was ended",
                SUITE_BOUND.as_secs()
            ),
            vec![exit.output.clone()],
        ));
    }
    let mut judged = checks_file::read(scenario, &results);
    if client_mode::NEEDS_MACHINE_GRANT.contains(&scenario) {
        if let Some(evidence) = lacks_machine_grant(client, machine_grant.as_deref()) {
            // The client has no such login path and sent no such grant: the suite's failures
            // (and the driver's, waiting for a browser login the scenario never offers) say
            // that, not that it got the grant wrong.
            // Its incidental passes (discovery, PKCE: what the other scenarios judge) stay
            // visible in the summary, but the scenario as a whole is not the client's to pass.
            for check in judged.iter_mut() {
                let was = match check.verdict {
                    Verdict::Fail => "the client has no such grant",
                    Verdict::Pass => "passed, but the scenario is about a grant the client lacks",
                    Verdict::NotApplicable => continue,
                };
                check.verdict = Verdict::NotApplicable;
                check.summary = format!("({was}) {}", check.summary);
                check.evidence.push(evidence.clone());
            }
            run.checks.extend(judged);
            if let Err(error) = driven {
                run.checks.push(Check::not_applicable(
                    "driver",
                    "the client could not be driven through a grant it does not have",
                    vec![error.to_string(), evidence],
                ));
            }
            return Ok(());
        }
    }
    if judged.iter().any(|c| c.name == "driver") {
        run.checks.extend(judged);
        run.checks.push(Check::fail(
            "suite-output",
            "what the conformance suite printed",
            vec![exit.output],
        ));
    } else {
        run.checks.extend(judged);
    }
    driven
}

/// The machine-to-machine grant or proof the client used, if any: a token request with a grant
/// type other than the browser's (`authorization_code`, `refresh_token`), or a `DPoP` header.
fn machine_grant_seen(exchanges: &[crate::proxy::Exchange]) -> Option<String> {
    exchanges.iter().find_map(|x| {
        if x.request_headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("dpop"))
        {
            return Some(format!("#{} {} sent a DPoP header", x.seq, x.upstream_url));
        }
        let body = x.request_body.as_deref()?;
        url::form_urlencoded::parse(body.as_bytes())
            .find(|(k, v)| k == "grant_type" && v != "authorization_code" && v != "refresh_token")
            .map(|(_, v)| format!("#{} grant_type={v}", x.seq))
    })
}

/// The evidence that the client lacks a machine-to-machine grant: its kind's login paths (all
/// through a browser) and no such grant in the run's traffic; `None` when it sent one.
fn lacks_machine_grant(client: &dyn ClientUnderTest, seen: Option<&str>) -> Option<String> {
    if seen.is_some() {
        return None;
    }
    let kind = crate::clients::catalog::by_name(client.name()).ok()?;
    let paths: Vec<&str> = kind.login_paths.iter().map(|p| p.as_str()).collect();
    Some(format!(
        "{}'s login paths are {} (each a browser's authorization code); the run's token requests \
         used no other grant_type and no request carried a DPoP header",
        kind.name,
        paths.join(", ")
    ))
}

/// Configures the proxy's URL, signs in, lists and (an agent) calls a tool, and leaves.
fn drive_client(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    ctx: &Ctx<'_>,
    proxy: &RecordingProxy,
    handed: &Handoff,
) -> Result<(), DriveError> {
    let env = ctx.env;
    let url = proxy.mcp_url();
    if suite_name(run.scenario) == "auth/basic-cimd" {
        // The suite expects the client ID metadata document URL of its own example client;
        // Claude Code takes another from this variable instead of its claude.ai one, as it does
        // for the mock's client-id-metadata variant (other clients do not read it).
        env.sandbox.add_env(
            crate::scenarios::CLIENT_METADATA_URL_ENV,
            SUITE_CLIENT_METADATA_URL,
        );
        run.commands.push(format!(
            "export {}={SUITE_CLIENT_METADATA_URL}",
            crate::scenarios::CLIENT_METADATA_URL_ENV
        ));
    }
    let machine_grant = client_mode::NEEDS_MACHINE_GRANT.contains(&suite_name(run.scenario));
    let secret = handed
        .context_str("client_secret")
        .filter(|_| !machine_grant);
    let redacted_context = || {
        handed
            .context
            .as_ref()
            .map(|c| match secret {
                Some(secret) => c.to_string().replace(secret, "<secret>"),
                None => c.to_string(),
            })
            .unwrap_or_default()
    };
    match handed.context_str("client_id") {
        Some(client_id) => {
            let port = std::net::TcpListener::bind(("127.0.0.1", 0))
                .and_then(|l| l.local_addr())
                .map_err(|e| DriveError::Setup(format!("no free port for the callback: {e}")))?
                .port();
            let with_secret = match secret {
                Some(secret) => match client.add_http_server_with_client_secret(
                    env,
                    SERVER_NAME,
                    &url,
                    client_id,
                    secret,
                    port,
                ) {
                    Ok(()) => true,
                    Err(DriveError::Setup(why)) => {
                        // The suite's verdict on how the secret is sent would be the harness's
                        // doing, not the client's: a driver failure, and the rest of the
                        // scenario runs anyway with the client ID alone.
                        run.checks.push(Check::fail(
                            "driver",
                            "the scenario gives a client secret, and the harness cannot give \
                             this client one: the suite's checks of the secret's use judge the \
                             harness",
                            vec![
                                why,
                                format!("MCP_CONFORMANCE_CONTEXT: {}", redacted_context()),
                            ],
                        ));
                        false
                    }
                    Err(other) => return Err(other),
                },
                None => false,
            };
            if !with_secret {
                client.add_http_server_with_client_id(env, SERVER_NAME, &url, client_id, port)?;
            }
            let mut line = client.reproduce(Step::AddServer {
                server: SERVER_NAME,
                url: &url,
                client_id: Some((client_id, port)),
            });
            if with_secret {
                line.push_str("    # given the suite's client secret too (shown as <secret>)");
            }
            run.commands.push(line);
        }
        None => {
            if secret.is_some() {
                run.checks.push(Check::fail(
                    "driver",
                    "the scenario gives a client secret without a client ID: the harness has no \
                     way to give a client one alone",
                    vec![format!("MCP_CONFORMANCE_CONTEXT: {}", redacted_context())],
                ));
            }
            client.add_http_server(env, SERVER_NAME, &url)?;
            run.commands.push(client.reproduce(Step::AddServer {
                server: SERVER_NAME,
                url: &url,
                client_id: None,
            }));
        }
    }
    let kind = crate::clients::catalog::by_name(client.name()).map_err(DriveError::Setup)?;
    let mut absent = Vec::new();
    let mut chosen = None;
    for path in LOGIN_PREFERENCE {
        if !kind.login_paths.contains(&path) {
            continue;
        }
        match client.has_login_path(env, path)? {
            Ok(()) => {
                chosen = Some(path);
                break;
            }
            Err(a) => absent.push(format!("{}: {}", path.as_str(), a.evidence)),
        }
    }
    let Some(path) = chosen else {
        return Err(DriveError::NoSuchPath {
            path: "browser login",
            evidence: absent.join("; "),
        });
    };
    run.commands
        .push(format!("# login path driven: {}", path.as_str()));
    let agent = kind.model_wire != ModelWire::None;
    let options = SessionOptions {
        allowed_servers: vec![SERVER_NAME.to_owned()],
    };
    match path {
        LoginPath::SlashMcp => {
            let mut session = client.start_session_with(env, &options)?;
            run.commands.push(client.reproduce(Step::InSessionLogin {
                server: SERVER_NAME,
                allow_tools: true,
                then: "a prompt that calls each of the server's tools",
            }));
            let result = (|| -> Result<(), DriveError> {
                let mut browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
                browser.skip_logged();
                // The suite's scenarios without authorization serve the client as it connects:
                // then there is nothing to log in to.
                settle(proxy, CONNECT_WAIT, Grace::Quiet(FOLLOW_UP_QUIET), |log| {
                    login_needed(log).is_some()
                })?;
                if login_needed(&proxy.received_requests()?) == Some(false) {
                    run.commands
                        .push("# the server answered MCP without a token: no login".to_owned());
                } else {
                    let auth =
                        client.authenticate_in_session(&mut session, SERVER_NAME, &mut browser);
                    settle_reconnect(proxy)?;
                    let auth = auth?;
                    run.final_screen = auth.client_message.clone();
                    run.auth = Some(auth);
                }
                if agent {
                    if let Some(turn) = call_listed_tools(run, client, ctx, proxy, handed) {
                        ctx.model.push_turn(turn);
                        crate::scenarios::lifecycle::play_turn(
                            client,
                            &mut session,
                            ctx.model,
                            run,
                            PROMPT,
                            Some(&mut browser),
                        )?;
                    }
                }
                Ok(())
            })();
            run.final_screen = session.screen();
            let exited = client.exit_session(&mut session);
            result.and(exited)
        }
        LoginPath::AutomaticAtConnect => {
            let print = client.login_at_connect(env, SERVER_NAME, "Say hello.", &options)?;
            run.commands.push(client.reproduce(Step::Print {
                server: SERVER_NAME,
                prompt: "Say hello.",
            }));
            run.final_screen = print.output.clone();
            run.print = Some(print);
            settle(proxy, Duration::from_secs(5), Grace::ProcessEnded, |_| true)?;
            if agent {
                print_tool_call(run, client, ctx, proxy, handed, &options)?;
            }
            Ok(())
        }
        _ => {
            // `mcp list` first: a server that serves without a token needs no login.
            let _ = client.server_status(env, SERVER_NAME)?;
            run.commands.push(client.reproduce(Step::ServerStatus));
            settle(proxy, Duration::from_secs(5), Grace::ProcessEnded, |_| true)?;
            if login_needed(&proxy.received_requests()?) == Some(false) {
                run.commands
                    .push("# the server answered MCP without a token: no login".to_owned());
                if agent {
                    print_tool_call(run, client, ctx, proxy, handed, &options)?;
                }
                return Ok(());
            }
            let mut browser = ScriptedBrowser::new(&env.sandbox.browser_log())?;
            let (auth, screen) = client.login_command(env, SERVER_NAME, &mut browser)?;
            run.commands.push(client.reproduce(Step::LoginCommand {
                server: SERVER_NAME,
                note: "",
            }));
            run.final_screen = screen;
            run.auth = Some(auth);
            // `mcp list`: a new process with the stored tokens, which lists the tools.
            let _ = client.server_status(env, SERVER_NAME)?;
            run.commands.push(client.reproduce(Step::ServerStatus));
            if agent {
                print_tool_call(run, client, ctx, proxy, handed, &options)?;
            }
            Ok(())
        }
    }
}

/// How long a started client gets to connect before the harness decides whether it must log in.
const CONNECT_WAIT: Duration = Duration::from_secs(20);

/// Whether the server asked for a login: `Some(true)` once anything got a 401, `Some(false)` once
/// an MCP request was answered (2xx) without a token and nothing got a 401, `None` before either.
/// (The suite's `initialize` scenario serves only `initialize`: a `tools/list` may never come.)
pub fn login_needed(log: &[mock_server::AccessRecord]) -> Option<bool> {
    if log.iter().any(|r| r.status == 401) {
        return Some(true);
    }
    log.iter()
        .any(|r| {
            r.rpc_method.is_some()
                && (200..300).contains(&r.status)
                && r.bearer == mock_server::Bearer::None
        })
        .then_some(false)
}

/// One non-interactive run in which the agent calls the server's tools.
fn print_tool_call(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    ctx: &Ctx<'_>,
    proxy: &RecordingProxy,
    handed: &Handoff,
    options: &SessionOptions,
) -> Result<(), DriveError> {
    let Some(turn) = call_listed_tools(run, client, ctx, proxy, handed) else {
        return Ok(());
    };
    ctx.model.push_turn(turn);
    let print = client.print_mode(ctx.env, SERVER_NAME, PROMPT, options)?;
    run.commands.push(client.reproduce(Step::Print {
        server: SERVER_NAME,
        prompt: PROMPT,
    }));
    run.final_screen = print.output.clone();
    run.print = Some(print);
    Ok(())
}

/// At most this many of the server's tools are called in one turn (the suite's servers list a
/// handful; a server listing hundreds would make the turn outlast its bound).
const MOST_TOOLS_CALLED: usize = 8;

/// The model's turn that calls the server's tools: the calls the scenario's context asks for
/// (`toolCalls`: a name and the arguments, as `http-custom-headers` gives the values whose
/// encoding it judges), else every tool the server listed (seen through the proxy), in the listed
/// order, each with an input made from its schema. `None` (and a note) when there is nothing to
/// call.
fn call_listed_tools(
    run: &mut Run<'_>,
    client: &dyn ClientUnderTest,
    _ctx: &Ctx<'_>,
    proxy: &RecordingProxy,
    handed: &Handoff,
) -> Option<mock_server::model_api::Turn> {
    let asked = context_tool_calls(handed);
    let calls: Vec<(String, Value)> = if asked.is_empty() {
        let listed = listed_tools(proxy);
        let names: Vec<String> = listed.iter().map(|(n, _)| n.clone()).collect();
        listed
            .into_iter()
            .map(|(name, schema)| {
                let input = match echo_of(&name, &names) {
                    // The scenario's echo tool takes the focal tool's schema as the agent saw
                    // it: what the client made of the server's `inputSchema`.
                    Some(focal) => json!({
                        "schema": mock_server::model_api::offered_schema_of(
                            client.mcp_tool_name(SERVER_NAME, focal)
                        )
                    }),
                    None => input_for(&schema),
                };
                (name, input)
            })
            .collect()
    } else {
        run.commands.push(format!(
            "# the scenario's context names {} tool call(s): the model makes those",
            asked.len()
        ));
        asked
    };
    if calls.is_empty() {
        run.commands
            .push("# no tools/list result came back: no tool call".to_owned());
        return None;
    }
    if calls.len() > MOST_TOOLS_CALLED {
        run.commands.push(format!(
            "# {} tool calls: the model makes the first {MOST_TOOLS_CALLED}",
            calls.len()
        ));
    }
    let mut turn = mock_server::model_api::Turn::new();
    for (name, input) in calls.into_iter().take(MOST_TOOLS_CALLED) {
        run.commands
            .push(format!("# the model calls {name} with {input}"));
        turn = turn.call(client.mcp_tool_name(SERVER_NAME, &name), input);
    }
    Some(turn.say("Done."))
}

/// `json-schema-2020-12-preservation`: its echo tool (`json_schema_echo`) is to be called with
/// the focal tool's (`json_schema_2020_12_tool`) input schema exactly as the client received it
/// (the suite's own description of the scenario). The focal tool's name when `tool` is the echo
/// and the server listed both.
fn echo_of<'a>(tool: &str, listed: &'a [String]) -> Option<&'a str> {
    const ECHO: &str = "json_schema_echo";
    const FOCAL: &str = "json_schema_2020_12_tool";
    (tool == ECHO)
        .then(|| listed.iter().find(|n| n.as_str() == FOCAL))
        .flatten()
        .map(String::as_str)
}

/// The context's `toolCalls` (`[{"name": …, "arguments": {…}}]`), in order; empty when it has
/// none.
fn context_tool_calls(handed: &Handoff) -> Vec<(String, Value)> {
    handed
        .context
        .as_ref()
        .and_then(|c| c.get("toolCalls"))
        .and_then(Value::as_array)
        .map(|calls| {
            calls
                .iter()
                .filter_map(|call| {
                    let name = call.get("name")?.as_str()?.to_owned();
                    let arguments = call.get("arguments").cloned().unwrap_or(json!({}));
                    Some((name, arguments))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The tools in the last `tools/list` result that went through the proxy: name and input schema.
fn listed_tools(proxy: &RecordingProxy) -> Vec<(String, Value)> {
    proxy
        .exchanges()
        .iter()
        .rev()
        .flat_map(|x| x.response_messages())
        .find_map(|message| {
            let tools = message.get("result")?.get("tools")?.as_array()?.clone();
            Some(
                tools
                    .iter()
                    .filter_map(|t| {
                        Some((
                            t.get("name")?.as_str()?.to_owned(),
                            t.get("inputSchema").cloned().unwrap_or(Value::Null),
                        ))
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .unwrap_or_default()
}

/// An input that satisfies `schema`'s required properties by their types.
pub fn input_for(schema: &Value) -> Value {
    let mut input = Map::new();
    let properties = schema.get("properties").and_then(Value::as_object);
    let required = schema
        .get("required")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for name in required.iter().filter_map(Value::as_str) {
        let kind = properties
            .and_then(|p| p.get(name))
            .and_then(|p| p.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("string");
        let value = match kind {
            "number" | "integer" => json!(1),
            "boolean" => json!(true),
            "object" => json!({}),
            "array" => json!([]),
            "null" => Value::Null,
            _ => json!("conformance"),
        };
        input.insert(name.to_owned(), value);
    }
    Value::Object(input)
}

/// Whether every suite check of the run passed (for the README's table, and tests).
pub fn suite_checks_passed(checks: &[Check]) -> bool {
    checks
        .iter()
        .filter(|c| c.name.starts_with(PREFIX))
        .all(|c| c.verdict != Verdict::Fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suite_scenario_has_a_definition_whose_name_parses() {
        assert_eq!(DEFS.len(), client_mode::SCENARIOS.len());
        for (def, name) in DEFS.iter().zip(client_mode::SCENARIOS) {
            assert_eq!(def.name, format!("conformance:{name}"));
            let scenario = Scenario::parse(def.name).expect("parses");
            assert_eq!(suite_name(scenario), name);
            assert!(is_suite_scenario(scenario));
            let spec = crate::scenarios::variants::ScenarioSpec::parse(def.name).expect("a spec");
            assert_eq!(spec.name(), def.name);
        }
        assert!(Scenario::parse("conformance:auth/nothing-such").is_none());
        assert!(Scenario::parse("auth/metadata-default").is_none());
        assert!(!is_suite_scenario(Scenario::SLASH_MCP));
    }

    fn token_request(body: &str, headers: Vec<(String, String)>) -> crate::proxy::Exchange {
        crate::proxy::Exchange {
            seq: 7,
            method: "POST".into(),
            upstream_url: "http://localhost:1/token".into(),
            phase: mock_server::Phase::Token,
            on_authorization_server: true,
            status: 200,
            request_headers: headers,
            request_body: Some(body.into()),
            response_headers: Vec::new(),
            response_body: None,
        }
    }

    #[test]
    fn a_machine_grant_or_a_dpop_proof_in_the_traffic_takes_away_the_not_applicable() {
        let browser = token_request("grant_type=authorization_code&code=c", Vec::new());
        assert_eq!(machine_grant_seen(std::slice::from_ref(&browser)), None);
        let credentials = token_request("grant_type=client_credentials", Vec::new());
        let seen = machine_grant_seen(&[browser.clone(), credentials]);
        assert_eq!(seen.as_deref(), Some("#7 grant_type=client_credentials"));
        let dpop = token_request(
            "grant_type=authorization_code",
            vec![("DPoP".into(), "eyJ…".into())],
        );
        assert!(machine_grant_seen(&[dpop]).is_some());
    }

    #[test]
    fn the_contexts_tool_calls_are_the_calls_the_model_makes_in_order() {
        let context =
            r#"{"toolCalls":[{"name":"a","arguments":{"x":"é"}},{"name":"b"},{"arguments":{}}]}"#;
        let handed = Handoff::from_env("http://127.0.0.1:1/mcp", |k| {
            (k == "MCP_CONFORMANCE_CONTEXT").then(|| context.to_owned())
        });
        assert_eq!(
            context_tool_calls(&handed),
            vec![
                ("a".to_owned(), json!({"x": "é"})),
                ("b".to_owned(), json!({}))
            ]
        );
        let none = Handoff::from_env("http://127.0.0.1:1/mcp", |_| None);
        assert!(context_tool_calls(&none).is_empty());
    }

    #[test]
    fn a_tool_input_fills_the_required_properties_by_type() {
        let schema = json!({"type": "object", "properties": {
            "a": {"type": "number"}, "b": {"type": "number"}, "c": {"type": "string"}},
            "required": ["a", "b"]});
        assert_eq!(input_for(&schema), json!({"a": 1, "b": 1}));
        assert_eq!(input_for(&json!({"type": "object"})), json!({}));
    }
}
