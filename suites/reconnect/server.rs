//! Real clients against a server no one here wrote, through the recording proxy: the TypeScript
//! SDK's example server (`@modelcontextprotocol/sdk`, `simpleStreamableHttp.js --oauth`: MCP on
//! one port under `/mcp`, its demo authorization server on another, which approves every
//! authorization request by itself with a redirect to the client's callback). The package is
//! installed at an exact version by the harness's own version store into its cache, like the
//! clients, and the server runs on loopback for the test.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use harness::checks::{self, Verdict};
use harness::mock::MockTarget;
use harness::proxy::{ProxyOptions, RecordingProxy};
use harness::scenarios::{self, Scenario, ScenarioReport};
use harness::store::package::{ClientPackage, Launch};
use harness::store::versions::{InstalledVersion, VersionStore};
use mock_server::Phase;

use crate::support::{assert_verdicts, claude_code, real_cli_slot, show};

/// The TypeScript SDK at an exact version; `MCP_SDK_VERSION` overrides it.
static TS_SDK: ClientPackage = ClientPackage {
    client: "mcp-sdk-typescript",
    npm: "@modelcontextprotocol/sdk",
    pinned: "1.32.2",
    version_env: "MCP_SDK_VERSION",
    prereleases: false,
    platform_build: None,
    locate: locate_example,
};

const EXAMPLE: &str =
    "node_modules/@modelcontextprotocol/sdk/dist/esm/examples/server/simpleStreamableHttp.js";

fn locate_example(dir: &Path) -> Option<Launch> {
    let script = dir.join(EXAMPLE);
    script.is_file().then(|| Launch::node_script(&script))
}

/// How long the example may take from its start to answering both metadata documents.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const READY_POLL: Duration = Duration::from_millis(100);

/// The example server, ended when dropped.
struct TsExampleServer {
    child: Child,
    mcp_url: String,
    auth_origin: String,
    _install: InstalledVersion,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}

impl TsExampleServer {
    fn start() -> anyhow::Result<TsExampleServer> {
        let install = VersionStore::from_env(&TS_SDK).ensure(&TS_SDK.version_under_test())?;
        let (mcp_port, auth_port) = (free_port()?, free_port()?);
        let log = tempfile::NamedTempFile::new()?;
        let child = Command::new(&install.program)
            .args(&install.pre_args)
            .arg("--oauth")
            .env("MCP_PORT", mcp_port.to_string())
            .env("MCP_AUTH_PORT", auth_port.to_string())
            .stdin(Stdio::null())
            .stdout(log.reopen()?)
            .stderr(log.reopen()?)
            .spawn()?;
        let mut server = TsExampleServer {
            child,
            // The example names its own URLs with `localhost`.
            mcp_url: format!("http://localhost:{mcp_port}/mcp"),
            auth_origin: format!("http://localhost:{auth_port}"),
            _install: install,
        };
        let http = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()?;
        let probes = [
            format!("http://localhost:{mcp_port}/.well-known/oauth-protected-resource/mcp"),
            format!(
                "{}/.well-known/oauth-authorization-server",
                server.auth_origin
            ),
        ];
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait()? {
                anyhow::bail!(
                    "the TypeScript SDK example exited ({status}) before it was ready; its output:\n{}",
                    std::fs::read_to_string(log.path()).unwrap_or_default()
                );
            }
            let ready = probes
                .iter()
                .all(|url| http.get(url).send().is_ok_and(|r| r.status().is_success()));
            if ready {
                return Ok(server);
            }
            if started.elapsed() > READY_TIMEOUT {
                anyhow::bail!(
                    "the TypeScript SDK example did not answer its metadata within {} s; its output:\n{}",
                    READY_TIMEOUT.as_secs(),
                    std::fs::read_to_string(log.path()).unwrap_or_default()
                );
            }
            std::thread::sleep(READY_POLL);
        }
    }
}

impl Drop for TsExampleServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_through_proxy(
    scenario: Scenario,
    server: &TsExampleServer,
) -> anyhow::Result<(ScenarioReport, RecordingProxy, String)> {
    let client = claude_code()?;
    let proxy = RecordingProxy::start(&server.mcp_url, &ProxyOptions::default())?;
    let report = scenarios::run(scenario, &client, &proxy);
    let text = format!("{}\n{}", show(&report), proxy.describe_rewrites());
    Ok((report, proxy, text))
}

/// The proxy stood for both of the example's origins, rewrote the metadata's URLs, and kept no
/// bearer token in what it recorded.
fn assert_proxy_did_its_part(
    proxy: &RecordingProxy,
    server: &TsExampleServer,
    text: &str,
) -> anyhow::Result<()> {
    let origins = proxy.origins();
    assert_eq!(origins.len(), 2, "{text}");
    assert_eq!(origins[1].upstream, server.auth_origin, "{text}");
    let rewrites = proxy.describe_rewrites();
    assert!(
        rewrites.contains("body authorization_servers[0]"),
        "{rewrites}"
    );
    assert!(rewrites.contains("body token_endpoint"), "{rewrites}");
    let log = proxy.received_requests()?;
    for phase in [
        Phase::Discovery,
        Phase::Registration,
        Phase::Authorization,
        Phase::Token,
        Phase::Mcp,
    ] {
        assert!(
            log.iter().any(|r| r.phase == phase),
            "no {phase:?}:\n{text}"
        );
    }
    let tokens: Vec<_> = proxy
        .exchanges()
        .into_iter()
        .filter(|e| e.phase == Phase::Token && e.status == 200)
        .collect();
    assert!(!tokens.is_empty(), "no token response recorded:\n{text}");
    // Every authorization code in what was kept (redirect headers, Express's "Redirecting to …"
    // bodies, token forms) is redacted.
    let kept = serde_json::to_string(&proxy.exchanges())?;
    for (at, _) in kept.match_indices("code=") {
        let value = &kept[at + "code=".len()..];
        assert!(
            value.starts_with("<redacted>") || value.starts_with("%3Credacted%3E"),
            "an unredacted code in the record: …{}",
            kept[at.saturating_sub(60)..(at + 20).min(kept.len())].to_owned()
        );
    }
    for exchange in tokens {
        let body: serde_json::Value =
            serde_json::from_str(exchange.response_body.as_deref().unwrap_or("{}"))?;
        assert_eq!(body["access_token"], "<redacted>", "{exchange:?}");
        let form = exchange.request_body.unwrap_or_default();
        assert!(
            !form.contains("code_verifier=") || form.contains("code_verifier=%3Credacted%3E"),
            "{form}"
        );
    }
    Ok(())
}

/// The in-session reconnect against the TypeScript SDK's example: `/mcp` → Authenticate, the
/// demo authorization server approves by itself, and the same Claude Code session must
/// initialize again and list the example's tools.
#[test]
fn claude_code_reconnects_in_session_to_the_typescript_sdk_example_through_the_proxy(
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let server = TsExampleServer::start()?;
    let (report, proxy, text) = run_through_proxy(Scenario::SLASH_MCP, &server)?;
    assert_verdicts(
        &report,
        &text,
        &[
            (checks::TOKEN_EXCHANGED, Verdict::Pass),
            (checks::REINITIALIZED_AFTER_TOKEN, Verdict::Pass),
            (checks::TOOLS_LISTED_AFTER_TOKEN, Verdict::Pass),
            (checks::BEARER_ON_EVERY_REQUEST, Verdict::Pass),
            ("client-reported-success", Verdict::Pass),
        ],
    );
    assert_proxy_did_its_part(&proxy, &server, &text)?;
    Ok(())
}

/// `mcp login` then `mcp list` against the same example: the stored token opens a new session.
#[test]
#[ignore = "make test-clients"]
fn claude_code_logs_in_to_the_typescript_sdk_example_and_lists_with_the_stored_token(
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let server = TsExampleServer::start()?;
    let (report, proxy, text) = run_through_proxy(Scenario::LOGIN_THEN_LIST, &server)?;
    assert_verdicts(
        &report,
        &text,
        &[
            ("needs-auth-before-login", Verdict::Pass),
            (checks::TOKEN_EXCHANGED, Verdict::Pass),
            ("login-succeeded", Verdict::Pass),
            ("connected-after-login", Verdict::Pass),
            ("stored-token-initialize", Verdict::Pass),
            (checks::BEARER_ON_EVERY_REQUEST, Verdict::Pass),
        ],
    );
    assert_proxy_did_its_part(&proxy, &server, &text)?;
    Ok(())
}

/// The reported bug's server, seen through the proxy as anyone's server would be: our mock with
/// `[]` for empty `inputSchema.properties`. Claude Code's reconnect checks pass on the server's
/// log, and the lint names the field: the fault is the server's.
#[test]
#[ignore = "make test-clients"]
fn the_empty_properties_quirk_is_blamed_on_the_server_through_the_proxy() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let mock = mock_server::MockServer::builder()
        .quirk(mock_server::Quirk::EmptyPropertiesAsArray)
        .start_blocking()?;
    let client = claude_code()?;
    let proxy = RecordingProxy::start(&mock.mcp_url(), &ProxyOptions::default())?;
    let report = scenarios::run(Scenario::SLASH_MCP, &client, &proxy);
    let lints = harness::lints::server_lints(&proxy.exchanges());
    let text = format!("{}\n{}", show(&report), harness::lints::render(&lints));
    assert_verdicts(
        &report,
        &text,
        &[
            (checks::TOKEN_EXCHANGED, Verdict::Pass),
            (checks::TOOLS_LISTED_AFTER_TOKEN, Verdict::Pass),
        ],
    );
    assert_eq!(
        harness::lints::failed(&lints),
        vec![
            harness::lints::mcp::INPUT_SCHEMA_PROPERTIES,
            harness::lints::schema::LIST_TOOLS_RESULT
        ],
        "{text}"
    );
    // The schema lint names the field by its JSON pointer.
    assert!(text.contains("/inputSchema/properties"), "{text}");
    // The proxy's record and the mock's own log agree on what happened.
    let phases = |log: &[mock_server::AccessRecord]| -> Vec<String> {
        log.iter()
            .filter(|r| r.phase != Phase::Admin)
            .map(|r| format!("{} {} {}", r.phase.as_str(), r.method, r.status))
            .collect()
    };
    assert_eq!(
        phases(&proxy.received_requests()?).len(),
        phases(&mock.received_requests()).len(),
        "{text}"
    );
    Ok(())
}

/// Gemini CLI (pinned) against the same example: it rejects the callback because it carries no
/// RFC 9207 `iss`, though the example's metadata never announces
/// `authorization_response_iss_parameter_supported` (RFC 9207 §2.4 obliges a client to insist
/// only then): no token exchange, and every server lint passes — the client's fault.
#[test]
#[ignore = "make test-clients"]
fn gemini_cli_rejects_the_typescript_sdk_examples_callback_for_a_missing_iss_it_was_never_promised(
) -> anyhow::Result<()> {
    use harness::clients::gemini_cli::{self, GeminiCli};
    let _slot = real_cli_slot();
    let server = TsExampleServer::start()?;
    let installed = VersionStore::from_env(&gemini_cli::PACKAGE)
        .ensure(&gemini_cli::PACKAGE.version_under_test())?;
    let client = GeminiCli::new(installed);
    let proxy = RecordingProxy::start(&server.mcp_url, &ProxyOptions::default())?;
    let report = scenarios::run(Scenario::SLASH_MCP, &client, &proxy);
    let lints = harness::lints::server_lints(&proxy.exchanges());
    let text = format!("{}\n{}", show(&report), harness::lints::render(&lints));
    assert_verdicts(
        &report,
        &text,
        &[
            (checks::TOKEN_EXCHANGED, Verdict::Fail),
            ("client-reported-success", Verdict::Fail),
        ],
    );
    // Measured (0.61.0): `Failed to authenticate with MCP server 'mock': Missing "iss" parameter
    // in authorization response per RFC 9207`.
    let said = report
        .auth
        .as_ref()
        .map(|a| a.client_message.clone())
        .unwrap_or_default();
    assert!(said.contains("\"iss\" parameter"), "{text}");
    let metadata_announces_iss = proxy.exchanges().iter().any(|e| {
        e.response_body
            .as_deref()
            .is_some_and(|b| b.contains("authorization_response_iss_parameter_supported"))
    });
    assert!(!metadata_announces_iss, "{text}");
    assert!(harness::lints::failed(&lints).is_empty(), "{text}");
    Ok(())
}

/// The verdict of each check of a report, by name.
fn verdicts(report: &ScenarioReport) -> Vec<(String, Verdict)> {
    report
        .checks
        .iter()
        .map(|c| (c.name.clone(), c.verdict))
        .collect()
}

/// `harness capture` of the TypeScript example (one `slash_mcp` session of Claude Code through
/// the proxy), written as TOML and read back, configures a mock under which the same client
/// gets the same verdict on every check as against the example itself.
#[test]
#[ignore = "make test-clients"]
fn a_capture_of_the_typescript_example_gives_a_mock_with_the_same_client_verdicts(
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let server = TsExampleServer::start()?;
    let (real, proxy, text) = run_through_proxy(Scenario::SLASH_MCP, &server)?;
    let config = harness::capture::mock_config(&proxy.exchanges(), proxy.upstream())?;
    assert!(config.discovery.separate_authorization_server, "{config:?}");
    assert_eq!(config.discovery.mcp_path, "/mcp");
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("ts-example.toml");
    std::fs::write(
        &file,
        harness::capture::to_toml(&config, proxy.upstream(), "Claude Code")?,
    )?;
    let read = mock_server::MockConfig::from_file(&file)?;
    assert_eq!(read, config);
    let mock = mock_server::MockServer::builder()
        .config(read)
        .start_blocking()?;
    let client = claude_code()?;
    let replay = scenarios::run(Scenario::SLASH_MCP, &client, &mock);
    let replay_text = show(&replay);
    assert_eq!(
        verdicts(&replay),
        verdicts(&real),
        "against the example:\n{text}\nagainst the mock so configured:\n{replay_text}"
    );
    // The mock served the example's tools, not its own.
    let listed: Vec<String> = mock
        .received_requests()
        .iter()
        .filter(|r| r.rpc_method.as_deref() == Some("tools/list") && r.status == 200)
        .map(|r| r.path.clone())
        .collect();
    assert!(!listed.is_empty(), "{replay_text}");
    let tools = config.shape.tools().unwrap_or_default();
    assert!(
        tools.iter().any(|t| t["name"] == "greet"),
        "{}",
        config.shape.tools.clone().unwrap_or_default()
    );
    Ok(())
}
