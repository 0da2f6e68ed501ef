//! `mock-server`: the strict OAuth 2.1 + MCP mock as a standalone process, for running a client by
//! hand or in a container.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mock_server::discovery::AuthorizationResponseIss;
use mock_server::faults::{DropConnections, McpErrors, RefreshError};
use mock_server::{MockConfig, MockServer, Profile, Quirk, Revision};
use tracing_subscriber::EnvFilter;

/// A strict mock OAuth 2.1 authorization server and MCP Streamable-HTTP server with an access log.
///
/// Prints the MCP endpoint and then `ready` on stdout once listening; logs each request on
/// stderr (filter with RUST_LOG); stops on Ctrl-C or SIGTERM.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Origin advertised in the OAuth metadata and challenges, when clients reach the server by
    /// another name than the bound address (e.g. http://mock:8080 from a container).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Also write the access log here, one JSON record per line.
    #[arg(long, value_name = "FILE")]
    access_log: Option<PathBuf>,
    /// Also answer the admin routes (the access log) to non-loopback peers that send this token in
    /// the X-Mock-Admin-Token header. In a container the host's requests come from the bridge, not
    /// loopback. Without it the admin routes answer loopback peers only.
    #[arg(
        long,
        env = "MOCK_SERVER_ADMIN_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        value_parser = clap::builder::NonEmptyStringValueParser::new()
    )]
    admin_token: Option<String>,
    /// Serve MCP without a bearer token: every MCP request is handled as if it carried a valid
    /// token for the default scope. Off by default; for the official MCP conformance suite,
    /// which cannot send a token (`harness conformance server` starts the mock with it). The
    /// OAuth routes and metadata are served as usual.
    #[arg(long, env = "MOCK_SERVER_NO_AUTH")]
    no_auth: bool,
    /// Profile, revisions, quirks and faults from a TOML file (JSON when it ends in .json);
    /// the flags below override what it says.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The server to impersonate: default, seed, conformance (the official suite's fixtures).
    #[arg(long, value_name = "NAME")]
    profile: Option<Profile>,
    /// MCP revisions to offer, comma-separated: 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    revisions: Vec<Revision>,
    /// An encoding quirk (repeat, or comma-separate): empty-object-as-array,
    /// empty-properties-as-array, empty-capabilities-as-array, empty-server-info-as-array,
    /// dotted-tool-names, unknown-output-schema-type, no-session-id.
    #[arg(long, value_name = "QUIRK", value_delimiter = ',')]
    quirk: Vec<Quirk>,
    /// Where the protected-resource metadata is served (RFC 9728): both well-known locations,
    /// only one of them, or only at the URL the 401 challenge announces.
    #[arg(long, value_name = "WHERE", help_heading = "Discovery")]
    resource_metadata_at: Option<mock_server::discovery::ResourceMetadataAt>,
    /// Send bare `WWW-Authenticate: Bearer` challenges, without `resource_metadata`.
    #[arg(long, help_heading = "Discovery")]
    bare_challenge: bool,
    /// How the authorization server publishes its metadata: RFC 8414 (oauth) or OpenID Connect
    /// Discovery only (openid).
    #[arg(long, value_name = "HOW", help_heading = "Discovery")]
    server_metadata_by: Option<mock_server::discovery::ServerMetadataBy>,
    /// A path in the issuer identifier, e.g. /tenant1 (metadata by RFC 8414 path insertion;
    /// endpoints under it).
    #[arg(long, value_name = "PATH", help_heading = "Discovery")]
    issuer_path: Option<String>,
    /// Run the authorization server on a second port (another origin), named only by the
    /// resource metadata's authorization_servers.
    #[arg(long, help_heading = "Discovery")]
    separate_authorization_server: bool,
    /// The MCP endpoint's path (default /), e.g. /mcp.
    #[arg(long, value_name = "PATH", help_heading = "Discovery")]
    mcp_path: Option<String>,
    /// How clients get a client ID: dynamic registration, or the one pre-registered client
    /// (harness-pre-registered-client, redirect URIs on loopback, any port, the driven clients' callback paths).
    #[arg(long, value_name = "HOW", help_heading = "Discovery")]
    registration: Option<mock_server::discovery::Registration>,
    /// RFC 9207: leave `iss` out of authorization responses, and
    /// authorization_response_iss_parameter_supported out of the metadata.
    #[arg(long, help_heading = "Discovery", conflicts_with = "wrong_iss")]
    omit_iss: bool,
    /// RFC 9207: advertise `iss`, but name another issuer in authorization responses (the
    /// issuer + /wrong-issuer); a conformant client refuses them.
    #[arg(long, help_heading = "Discovery")]
    wrong_iss: bool,
    /// Refuse a loopback redirect URI whose port differs from the registered one (by default
    /// any port is allowed, as RFC 8252 §7.3 requires).
    #[arg(long, help_heading = "Discovery")]
    strict_redirect_port: bool,
    /// Token responses, challenges and error bodies as some real servers send them
    /// (token-without-expires-in, token-expires-in-string, token-extra-fields,
    /// token-form-encoded, several-challenges, html-errors).
    #[arg(long, value_enum, value_name = "SHAPE", help_heading = "Discovery")]
    response_shape: Option<mock_server::discovery::ResponseShape>,

    /// Fault: forget every session as soon as it is made (404 "Session not found").
    #[arg(long, help_heading = "Faults")]
    forget_sessions: bool,
    /// Fault: tools/call needs this extra scope (403 insufficient_scope naming it).
    #[arg(long, value_name = "SCOPE", help_heading = "Faults")]
    tools_call_scope: Option<String>,
    /// Fault: grant the default scope whatever the client asks for.
    #[arg(long, help_heading = "Faults")]
    ignore_requested_scope: bool,
    /// Fault: refuse every refresh_token grant: server_error (500) or invalid_grant (400).
    #[arg(long, value_name = "ERROR", help_heading = "Faults")]
    refresh_error: Option<RefreshError>,
    /// Fault: access tokens live this many seconds (default 3600).
    #[arg(long, value_name = "SECS", help_heading = "Faults")]
    access_token_ttl: Option<u64>,
    /// Fault: hold every MCP POST this many milliseconds before handling it.
    #[arg(long, value_name = "MS", help_heading = "Faults")]
    slow_responses: Option<u64>,
    /// Fault: the first COUNT authenticated MCP POSTs get HTTP STATUS (a 5xx), e.g. 503x2.
    #[arg(long, value_name = "STATUSxCOUNT", value_parser = McpErrors::parse, help_heading = "Faults")]
    mcp_errors: Option<McpErrors>,
    /// Fault: close the connections of the first COUNT authenticated MCP POSTs without a response.
    #[arg(long, value_name = "COUNT", help_heading = "Faults")]
    drop_connections: Option<u32>,
    /// Speak only the older HTTP+SSE transport (2024-11-05): POST to the endpoint is 405, GET
    /// opens the stream whose `endpoint` event names where to POST messages.
    #[arg(long, help_heading = "Faults")]
    legacy_sse_only: bool,
}

/// The `--config` file, then the flags on top.
fn mock_config(args: &Args) -> Result<MockConfig, String> {
    let mut config = match &args.config {
        Some(path) => MockConfig::from_file(path).map_err(|e| e.to_string())?,
        None => MockConfig::default(),
    };
    if let Some(profile) = args.profile {
        config.profile = profile;
    }
    if !args.revisions.is_empty() {
        config.revisions = args.revisions.clone();
    }
    config.quirks.extend(args.quirk.iter().copied());
    let discovery = &mut config.discovery;
    if let Some(at) = args.resource_metadata_at {
        discovery.resource_metadata_at = at;
    }
    if args.bare_challenge {
        discovery.challenge_names_metadata = false;
    }
    if let Some(by) = args.server_metadata_by {
        discovery.server_metadata_by = by;
    }
    if let Some(path) = &args.issuer_path {
        discovery.issuer_path = Some(path.clone());
    }
    if args.separate_authorization_server {
        discovery.separate_authorization_server = true;
    }
    if let Some(path) = &args.mcp_path {
        discovery.mcp_path = path.clone();
    }
    if let Some(registration) = args.registration {
        discovery.registration = registration;
    }
    if args.omit_iss {
        discovery.authorization_response_iss = AuthorizationResponseIss::Omitted;
    }
    if args.wrong_iss {
        discovery.authorization_response_iss = AuthorizationResponseIss::Wrong;
    }
    discovery.strict_redirect_port |= args.strict_redirect_port;
    if let Some(shape) = args.response_shape {
        discovery.response_shape = shape;
    }
    discovery.validate()?;
    let faults = &mut config.faults;
    faults.forget_sessions |= args.forget_sessions;
    faults.legacy_sse_only |= args.legacy_sse_only;
    faults.ignore_requested_scope |= args.ignore_requested_scope;
    if let Some(scope) = &args.tools_call_scope {
        faults.tools_call_scope = Some(scope.clone());
    }
    if let Some(error) = args.refresh_error {
        faults.refresh_error = Some(error);
    }
    if let Some(secs) = args.access_token_ttl {
        faults.access_token_ttl_secs = Some(secs);
    }
    if let Some(ms) = args.slow_responses {
        faults.slow_responses_ms = Some(ms);
    }
    if let Some(errors) = args.mcp_errors {
        faults.mcp_errors = Some(errors);
    }
    if let Some(count) = args.drop_connections {
        faults.drop_connections = Some(DropConnections { count });
    }
    Ok(config)
}

/// The server the arguments describe, with `mock` (from [`mock_config`]) as its configuration.
fn builder(args: &Args, mock: MockConfig) -> mock_server::MockServerBuilder {
    let mut builder = MockServer::builder()
        .bind(SocketAddr::new(args.bind, args.port))
        .config(mock);
    if let Some(url) = &args.public_url {
        builder = builder.public_url(url);
    }
    if let Some(path) = &args.access_log {
        builder = builder.access_log_file(path);
    }
    if let Some(token) = &args.admin_token {
        builder = builder.admin_token(token);
    }
    builder.no_auth(args.no_auth)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let mock = match mock_config(&args) {
        Ok(mock) => mock,
        Err(error) => {
            eprintln!("mock-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let label = mock.label();
    let faults = mock.faults.clone();
    let server = match builder(&args, mock).start().await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("mock-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    // Whoever started us waits for `ready`; a closed stdout must not stop the server.
    let _ = writeln!(stdout, "mock-server: MCP endpoint {}", server.mcp_url());
    let _ = writeln!(
        stdout,
        "mock-server: authorization server {}",
        server.issuer()
    );
    let _ = writeln!(stdout, "mock-server: configuration {label}");
    if args.no_auth {
        // Said out loud: a server that accepts anyone must never pass for the strict one.
        let _ = writeln!(
            stdout,
            "mock-server: --no-auth: MCP requests need no bearer token"
        );
    }
    if faults != mock_server::Faults::default() {
        let _ = writeln!(
            stdout,
            "mock-server: faults {}",
            serde_json::to_string(&faults).unwrap_or_default()
        );
    }
    let _ = writeln!(stdout, "ready");
    let _ = stdout.flush();
    drop(stdout);

    if let Err(error) = stop_signal().await {
        eprintln!("mock-server: cannot wait for signals: {error}");
        server.shutdown();
        return ExitCode::FAILURE;
    }
    tracing::info!("stopping");
    server.shutdown();
    ExitCode::SUCCESS
}

/// Ctrl-C, or SIGTERM (what `docker stop` and test harnesses send).
async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> anyhow::Result<MockConfig> {
        let args =
            Args::try_parse_from(std::iter::once("mock-server").chain(args.iter().copied()))?;
        mock_config(&args).map_err(anyhow::Error::msg)
    }

    #[test]
    fn every_fault_has_a_flag() -> anyhow::Result<()> {
        let faults = config(&[
            "--forget-sessions",
            "--tools-call-scope",
            "mcp:write",
            "--ignore-requested-scope",
            "--refresh-error",
            "server_error",
            "--access-token-ttl",
            "5",
            "--slow-responses",
            "1500",
            "--mcp-errors",
            "502x3",
            "--drop-connections",
            "2",
            "--legacy-sse-only",
        ])?
        .faults;
        assert_eq!(
            faults,
            mock_server::Faults {
                forget_sessions: true,
                tools_call_scope: Some("mcp:write".to_owned()),
                ignore_requested_scope: true,
                refresh_error: Some(RefreshError::ServerError),
                access_token_ttl_secs: Some(5),
                slow_responses_ms: Some(1500),
                mcp_errors: Some(McpErrors {
                    status: 502,
                    count: 3
                }),
                drop_connections: Some(DropConnections { count: 2 }),
                legacy_sse_only: true,
            }
        );
        assert!(config(&["--mcp-errors", "200x1"]).is_err());
        // `Faults::flags` (what a container is started with) says the same thing back.
        let flags = faults.flags();
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        assert_eq!(config(&flags)?.faults, faults);
        assert!(mock_server::Faults::default().flags().is_empty());
        Ok(())
    }

    /// The flags as the binary starts its server: the faults they name are committed.
    #[tokio::test]
    async fn a_server_started_from_fault_flags_commits_them() -> anyhow::Result<()> {
        let args = Args::try_parse_from([
            "mock-server",
            "--port",
            "0",
            "--drop-connections",
            "1",
            "--mcp-errors",
            "502x1",
        ])?;
        let mock = mock_config(&args).map_err(anyhow::Error::msg)?;
        let server = builder(&args, mock).start().await?;
        let mut client = mock_server::client::StandInClient::new(&server.mcp_url())?;
        let tokens = client.authenticate().await?;
        let dropped = client.initialize(&tokens.access_token).await;
        assert_eq!(dropped.err().map(|e| e.status()), Some(None));
        let refused = client.initialize(&tokens.access_token).await;
        assert_eq!(refused.err().and_then(|e| e.status()), Some(502));
        client.initialize(&tokens.access_token).await?;
        let faults: Vec<Option<String>> = server
            .received_requests()
            .into_iter()
            .filter(|r| r.rpc_method.as_deref() == Some("initialize"))
            .map(|r| r.fault)
            .collect();
        assert_eq!(
            faults,
            vec![
                None, // the sign-in's unauthenticated probe
                Some("dropped-connection (1 of 1)".to_owned()),
                Some("mcp-error 502 (1 of 1)".to_owned()),
                None
            ]
        );
        server.shutdown();
        Ok(())
    }

    #[test]
    fn a_response_shape_is_chosen_by_flag() -> anyhow::Result<()> {
        use mock_server::discovery::ResponseShape;
        assert_eq!(
            config(&[])?.discovery.response_shape,
            ResponseShape::Standard
        );
        assert_eq!(
            config(&["--response-shape", "html-errors"])?
                .discovery
                .response_shape,
            ResponseShape::HtmlErrors
        );
        assert!(config(&["--response-shape", "nope"]).is_err());
        Ok(())
    }

    #[test]
    fn the_redirect_port_is_compared_only_with_the_strict_flag() -> anyhow::Result<()> {
        assert!(!config(&[])?.discovery.strict_redirect_port);
        assert!(
            config(&["--strict-redirect-port"])?
                .discovery
                .strict_redirect_port
        );
        Ok(())
    }

    #[test]
    fn the_iss_switches_have_flags_that_override_the_file() -> anyhow::Result<()> {
        let iss = |args: &[&str]| -> anyhow::Result<AuthorizationResponseIss> {
            Ok(config(args)?.discovery.authorization_response_iss)
        };
        assert_eq!(iss(&[])?, AuthorizationResponseIss::Sent);
        assert_eq!(iss(&["--omit-iss"])?, AuthorizationResponseIss::Omitted);
        assert_eq!(iss(&["--wrong-iss"])?, AuthorizationResponseIss::Wrong);
        assert!(config(&["--omit-iss", "--wrong-iss"]).is_err());
        let dir = std::env::temp_dir().join(format!("mock-iss-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let file = dir.join("mock.toml");
        std::fs::write(
            &file,
            "[discovery]\nauthorization_response_iss = \"omitted\"\n",
        )?;
        let path = file.to_string_lossy().into_owned();
        let from_file = iss(&["--config", &path]);
        let overridden = iss(&["--config", &path, "--wrong-iss"]);
        std::fs::remove_dir_all(&dir)?;
        assert_eq!(from_file?, AuthorizationResponseIss::Omitted);
        assert_eq!(overridden?, AuthorizationResponseIss::Wrong);
        Ok(())
    }

    #[test]
    fn flags_override_the_config_file_and_keep_the_rest() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("mock-faults-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let file = dir.join("mock.toml");
        std::fs::write(
            &file,
            "[faults]\nslow_responses_ms = 100\nmcp_errors = { status = 500, count = 1 }\n",
        )?;
        let path = file.to_string_lossy().into_owned();
        let faults = config(&["--config", &path, "--mcp-errors", "503x2"])?.faults;
        std::fs::remove_dir_all(&dir)?;
        assert_eq!(faults.slow_responses_ms, Some(100));
        assert_eq!(
            faults.mcp_errors,
            Some(McpErrors {
                status: 503,
                count: 2
            })
        );
        Ok(())
    }
}
