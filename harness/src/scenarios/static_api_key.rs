//! `static_api_key`: failure class 1, a server that is not OAuth. The server is added with a
//! static API-key header in the client's own config (no login of any kind), then one headless
//! run: the server answers a request without the key with a `Basic` challenge and serves no
//! OAuth metadata, so a client that starts discovery or registration, or drops the header from
//! any MCP request, fails. Not a reconnect check.

use mock_server::discovery::{Credentials, API_KEY, API_KEY_HEADER};

use crate::checks::static_credentials;
use crate::clients::{ClientUnderTest, DriveError, LoginPath, SessionOptions, Step};
use crate::scenarios::def::{no_faults, ScenarioDef};
use crate::scenarios::steps::{settle, Ctx, Grace, Run, RECONNECT_TIMEOUT, SERVER_NAME};

pub const DEF: ScenarioDef = ScenarioDef {
    name: "static_api_key",
    describe: "a server that is not OAuth (Basic challenge, no metadata), added with a static X-API-Key header in the config; one headless run: no discovery or registration, the header on every MCP request",
    login_path: LoginPath::StaticHeader,
    is_reconnect_check: false,
    credentials: Credentials::ApiKey,
    login_state: None,
    faults: no_faults,
    drive,
};

const PROMPT: &str = "Say hello.";

fn drive(run: &mut Run<'_>, client: &dyn ClientUnderTest, ctx: &Ctx<'_>) -> Result<(), DriveError> {
    let env = ctx.env;
    let url = run.mock.mcp_url();
    client.add_http_server_with_header(env, SERVER_NAME, &url, API_KEY_HEADER, API_KEY)?;
    run.commands.push(format!(
        "{} # with the header {API_KEY_HEADER}: {API_KEY} in the config",
        client.reproduce(Step::AddServer {
            server: SERVER_NAME,
            url: &url,
            client_id: None,
        })
    ));
    let options = SessionOptions {
        allowed_servers: vec![SERVER_NAME.to_owned()],
    };
    let print = client.print_mode(env, SERVER_NAME, PROMPT, &options)?;
    run.commands.push(client.reproduce(Step::Print {
        server: SERVER_NAME,
        prompt: PROMPT,
    }));
    run.print = Some(print);
    // The run has ended; whatever it sent is in the log.
    settle(run.mock, RECONNECT_TIMEOUT, Grace::ProcessEnded, |_| true)?;
    let log = run.mock.received_requests()?;
    run.checks.push(static_credentials::no_oauth(&log));
    run.checks
        .push(static_credentials::header_on_every_request(&log));
    Ok(())
}
