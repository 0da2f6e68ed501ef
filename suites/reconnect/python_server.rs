//! A second third-party server, from another ecosystem: an MCP server on the Python SDK (the
//! `mcp` package from PyPI at an exact version) with OAuth, on loopback, through the recording
//! proxy. The wheel ships no runnable OAuth server, so `suites/servers/python_oauth_server.py`
//! is ours, built on the SDK's own MCPServer, Streamable HTTP transport and authorization
//! routes, with a provider that approves every authorization at once (as the TypeScript SDK's
//! demo does). The package goes into a virtual environment in the harness cache
//! (`$HARNESS_CACHE_DIR/python-mcp/<version>`), made on first use by python3.11's venv and pip.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use harness::checks::{self, Verdict};
use harness::clients::catalog::ClientKind;
use harness::mock::MockTarget;
use harness::proxy::{ProxyOptions, RecordingProxy};
use harness::scenarios::{self, Scenario};
use harness::store::versions::{VersionStore, CACHE_DIR_ENV};
use mock_server::Phase;

use crate::support::{assert_verdicts, claude_code, real_cli_slot, show};

/// The Python SDK at an exact version; `PYTHON_MCP_VERSION` overrides it.
const PYTHON_MCP: &str = "2.3.0";
const PYTHON: &str = "python3.11";
/// pip's own wait per network operation, so an unreachable index fails instead of hanging.
const PIP_TIMEOUT_SECS: &str = "60";
const READY_TIMEOUT: Duration = Duration::from_secs(30);

fn version() -> String {
    std::env::var("PYTHON_MCP_VERSION").unwrap_or_else(|_| PYTHON_MCP.to_owned())
}

/// The cache root the version store uses.
fn cache_root() -> PathBuf {
    std::env::var_os(CACHE_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            VersionStore::from_env(&harness::clients::claude_code::PACKAGE)
                .root()
                .to_path_buf()
        })
}

/// The venv's python with `mcp==<version>` installed. A venv names its absolute path in its
/// scripts, so it is made where it stays; a marker written after pip succeeded tells a whole
/// one from a half-made one, which is made again.
fn python_with_mcp() -> anyhow::Result<PathBuf> {
    let version = version();
    let venv = cache_root().join("python-mcp").join(&version);
    let python = venv.join("bin/python");
    let marker = venv.join(".harness-installed");
    if marker.is_file() {
        return Ok(python);
    }
    if venv.exists() {
        std::fs::remove_dir_all(&venv)?;
    }
    std::fs::create_dir_all(&venv)?;
    let status = Command::new(PYTHON)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|e| {
            anyhow::anyhow!("cannot run {PYTHON} (needed for the Python SDK server): {e}")
        })?;
    anyhow::ensure!(status.success(), "{PYTHON} -m venv failed: {status}");
    let output = Command::new(venv.join("bin/pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--timeout",
        ])
        .arg(PIP_TIMEOUT_SECS)
        .arg(format!("mcp=={version}"))
        .stdin(Stdio::null())
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "pip install mcp=={version} into {} failed: {}",
        venv.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(&marker, format!("mcp=={version}\n"))?;
    Ok(python)
}

/// The Python server, ended by its pid when dropped.
struct PythonServer {
    child: Child,
    mcp_url: String,
}

impl PythonServer {
    fn start() -> anyhow::Result<PythonServer> {
        let python = python_with_mcp()?;
        let port = std::net::TcpListener::bind(("127.0.0.1", 0))?
            .local_addr()?
            .port();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/servers/python_oauth_server.py");
        let log = tempfile::NamedTempFile::new()?;
        let child = Command::new(&python)
            .arg(&script)
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(log.reopen()?)
            .stderr(log.reopen()?)
            .spawn()?;
        let mut server = PythonServer {
            child,
            mcp_url: format!("http://127.0.0.1:{port}/mcp"),
        };
        let http = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()?;
        let probe = format!("http://127.0.0.1:{port}/.well-known/oauth-authorization-server");
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait()? {
                anyhow::bail!(
                    "the Python server exited ({status}) before it was ready; its output:\n{}",
                    std::fs::read_to_string(log.path()).unwrap_or_default()
                );
            }
            if http
                .get(&probe)
                .send()
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(server);
            }
            if started.elapsed() > READY_TIMEOUT {
                anyhow::bail!(
                    "the Python server did not answer its metadata within {} s; its output:\n{}",
                    READY_TIMEOUT.as_secs(),
                    std::fs::read_to_string(log.path()).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Claude Code's in-session reconnect (`/mcp` → Authenticate) against the Python SDK server:
/// the token exchange, a new session, the server's tools listed, every server lint passing.
#[test]
#[ignore = "make test-clients"]
fn claude_code_reconnects_in_session_to_the_python_sdk_server_through_the_proxy(
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let server = PythonServer::start()?;
    let client = claude_code()?;
    let proxy = RecordingProxy::start(&server.mcp_url, &ProxyOptions::default())?;
    let report = scenarios::run(Scenario::SLASH_MCP, &client, &proxy);
    let lints = harness::lints::server_lints(&proxy.exchanges());
    let text = format!(
        "{}\n{}\n{}",
        show(&report),
        harness::lints::render(&lints),
        proxy.describe_rewrites()
    );
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
    // Measured 2026-12-02: Claude Code 2.1.331 and mcp 2.3.0 agree on the stateless 2026-07-28
    // revision (server/discover, no initialize); the checks judge it by its rules.
    let revisions: Vec<String> = log.iter().filter_map(|r| r.negotiated.clone()).collect();
    assert!(
        !revisions.is_empty(),
        "no negotiated revision recorded:\n{text}"
    );
    assert_eq!(harness::lints::failed(&lints), Vec::<&str>::new(), "{text}");
    let listed = proxy.exchanges().iter().any(|e| {
        e.response_body
            .as_deref()
            .is_some_and(|b| b.contains("\"greet\""))
    });
    assert!(listed, "the server's tools were not listed:\n{text}");
    Ok(())
}

/// The reference client MCP Inspector (its CLI logs in at connect) against the same server.
#[test]
#[ignore = "make test-clients"]
fn mcp_inspector_logs_in_to_the_python_sdk_server_at_connect() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let server = PythonServer::start()?;
    let kind: &ClientKind =
        harness::clients::catalog::by_name("mcp-inspector").map_err(anyhow::Error::msg)?;
    let installed =
        VersionStore::from_env(kind.package).ensure(&kind.package.version_under_test())?;
    let client = (kind.make)(installed);
    let proxy = RecordingProxy::start(&server.mcp_url, &ProxyOptions::default())?;
    let report = scenarios::run(Scenario::LOGIN_AT_CONNECT, client.as_ref(), &proxy);
    let lints = harness::lints::server_lints(&proxy.exchanges());
    let text = format!("{}\n{}", show(&report), harness::lints::render(&lints));
    assert!(report.passed(), "{text}");
    assert_verdicts(&report, &text, &[(checks::TOKEN_EXCHANGED, Verdict::Pass)]);
    assert_eq!(harness::lints::failed(&lints), Vec::<&str>::new(), "{text}");
    Ok(())
}

/// A token from the Python server, as someone would get one by hand: dynamic registration, the
/// authorization request (answered at once with a redirect carrying the code), the exchange
/// with the PKCE verifier.
fn issue_token(server: &PythonServer) -> anyhow::Result<String> {
    let origin = server.mcp_url.trim_end_matches("/mcp").to_owned();
    let http = reqwest::blocking::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()?;
    let redirect = "http://127.0.0.1:9/callback";
    let registered: serde_json::Value = http
        .post(format!("{origin}/register"))
        .json(
            &serde_json::json!({"redirect_uris": [redirect], "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]}),
        )
        .send()?
        .json()?;
    let client_id = registered["client_id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no client_id: {registered}"))?;
    let verifier = "a-verifier-of-at-least-forty-three-characters-for-pkce";
    let authorized = http
        .get(format!("{origin}/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect),
            ("code_challenge", &mock_server::s256_challenge(verifier)),
            ("code_challenge_method", "S256"),
            ("state", "s"),
            ("scope", "mcp"),
            ("resource", &server.mcp_url),
        ])
        .send()?;
    let location = authorized
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| anyhow::anyhow!("/authorize did not redirect: {}", authorized.status()))?;
    let code = url::Url::parse(location)?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| anyhow::anyhow!("no code in {location}"))?;
    let tokens: serde_json::Value = http
        .post(format!("{origin}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("client_id", client_id),
            ("code_verifier", verifier),
            ("resource", &server.mcp_url),
        ])
        .send()?
        .json()?;
    tokens["access_token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no access_token in the token response"))
}

/// `--bearer-file` against the Python server: a token it issued (through its OAuth flow, by
/// hand) opens Claude Code's connection through the proxy with no login,
/// and neither the report nor the proxy's record holds it; a token it never issued leaves the
/// client needing authentication.
#[test]
#[ignore = "make test-clients"]
fn claude_code_connects_to_the_python_sdk_server_with_a_pre_issued_token_and_not_with_a_wrong_one(
) -> anyhow::Result<()> {
    use harness::scenarios::pre_issued_token::{CONNECTED, TOOLS_LISTED};
    let _slot = real_cli_slot();
    let server = PythonServer::start()?;
    let token = issue_token(&server)?;
    let dir = tempfile::tempdir()?;
    let client = claude_code()?;
    let run_with_token =
        |token: &str| -> anyhow::Result<(harness::scenarios::ScenarioReport, RecordingProxy)> {
            let file = dir.path().join("token");
            std::fs::write(&file, token)?;
            let options = ProxyOptions {
                bearer: Some(harness::proxy::read_bearer_file(&file)?),
                ..ProxyOptions::default()
            };
            let proxy = RecordingProxy::start(&server.mcp_url, &options)?;
            let report = scenarios::run(Scenario::PRE_ISSUED_TOKEN, &client, &proxy);
            Ok((report, proxy))
        };
    let (report, proxy) = run_with_token(&token)?;
    let text = show(&report);
    assert_verdicts(
        &report,
        &text,
        &[(CONNECTED, Verdict::Pass), (TOOLS_LISTED, Verdict::Pass)],
    );
    let kept = format!(
        "{}\n{}\n{text}",
        serde_json::to_string(&proxy.exchanges())?,
        serde_json::to_string(&proxy.received_requests()?)?
    );
    assert!(!kept.contains(&token), "the token is in the record");

    let (wrong, _) = run_with_token("a-token-the-server-never-issued")?;
    let text = show(&wrong);
    assert_verdicts(
        &wrong,
        &text,
        &[(CONNECTED, Verdict::Fail), (TOOLS_LISTED, Verdict::Fail)],
    );
    Ok(())
}
