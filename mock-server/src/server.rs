//! [`MockServer`]: the OAuth + MCP server on its own thread and runtime, wiremock-style.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::access_log::AccessRecord;
use crate::config::ServerConfig;
use crate::discovery::{AuthorizationResponseIss, Discovery};
use crate::error::MockServerError;
use crate::faults::{DropConnections, Faults, McpErrors};
use crate::profile::{MockConfig, Profile, Quirk, Quirks, Revision};
use crate::router::{authorization_server_router, router};
use crate::runtime::{bind, BackgroundServer};
use crate::state::AppState;
use crate::util::lock;

/// A running mock server. It keeps serving while the test thread blocks (on a child process, say),
/// because it has a thread and a tokio runtime of its own. Dropping it, or [`MockServer::shutdown`],
/// stops the runtime and joins the thread.
pub struct MockServer {
    /// Behind a lock so a test holding `&MockServer` can stop and restart it.
    server: std::sync::Mutex<BackgroundServer>,
    /// The authorization server's own listener, when it has a separate origin.
    authorization_server: Option<std::sync::Mutex<BackgroundServer>>,
    state: AppState,
}

impl MockServer {
    /// Starts with the defaults on `127.0.0.1:0` (a free port).
    ///
    /// # Panics
    ///
    /// If the server cannot start: no free loopback port, or no thread can be spawned. Use
    /// [`MockServer::builder`] to handle that as an error instead.
    pub async fn start() -> MockServer {
        match MockServer::builder().start().await {
            Ok(server) => server,
            Err(error) => panic!("the mock server cannot start: {error}"),
        }
    }

    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// The advertised base URL, e.g. `http://127.0.0.1:PORT` (no trailing slash).
    pub fn uri(&self) -> String {
        self.state.config().public_url.clone()
    }

    /// The MCP endpoint, e.g. `http://127.0.0.1:PORT/`; also the OAuth resource identifier.
    pub fn mcp_url(&self) -> String {
        self.state.config().mcp_url()
    }

    /// The authorization server's issuer identifier, e.g. `http://127.0.0.1:PORT` (another port
    /// when it has an origin of its own, and a path when configured with one).
    pub fn issuer(&self) -> String {
        self.state.config().issuer()
    }

    /// Where the protected-resource metadata is announced (or would be, with a bare challenge).
    pub fn resource_metadata_url(&self) -> String {
        self.state.config().resource_metadata_url()
    }

    /// The configuration the server runs with.
    pub fn config(&self) -> &ServerConfig {
        self.state.config()
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        lock(&self.server).local_addr()
    }

    /// The names of the tools `tools/list` answers with (at the newest offered revision).
    pub fn tool_names(&self) -> Vec<String> {
        let config = self.state.config();
        crate::mcp::tools::list_for(config, config.latest_protocol_version())
            .iter()
            .filter_map(|t| {
                t.get("name")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
            })
            .collect()
    }

    /// The access log so far.
    pub fn received_requests(&self) -> Vec<AccessRecord> {
        self.state.received_requests()
    }

    /// Every live access token expires now (refresh tokens stay usable); how many.
    pub fn expire_access_tokens(&self) -> usize {
        self.state.tokens().expire_all_access()
    }

    /// Every access token is revoked now (refresh tokens stay usable); how many were live.
    pub fn revoke_access_tokens(&self) -> usize {
        self.state.tokens().revoke_all_access()
    }

    /// The server forgets every dynamically registered client now: their next authorization or
    /// token request gets `invalid_client`. How many.
    pub fn forget_clients(&self) -> usize {
        self.state.forget_clients()
    }

    /// The server forgets every MCP session now (their GET streams close); how many.
    pub fn drop_sessions(&self) -> usize {
        self.state.sessions().forget_all()
    }

    /// From now on every session is forgotten as soon as it is made (the `forget_sessions` fault,
    /// switched on mid-run), and the existing ones are dropped.
    pub fn keep_forgetting_sessions(&self) -> usize {
        self.state.start_forgetting_sessions();
        self.state.sessions().forget_all()
    }

    /// Adds a tool to `tools/list` (it echoes its `text` argument). Clients learn of it only
    /// through [`MockServer::notify_tools_changed`] or by listing again.
    pub fn add_tool(&self, name: &str) {
        self.state.add_extra_tool(name);
    }

    /// Pushes `notifications/tools/list_changed` on every open GET stream; how many streams heard.
    pub fn notify_tools_changed(&self) -> usize {
        self.state.notify_tools_changed()
    }

    /// From now on every MCP `POST` is held `delay` before it is handled (the `slow_responses_ms`
    /// fault); `None` makes the server quick again.
    pub fn slow_responses(&self, delay: Option<Duration>) {
        self.state
            .set_slow_responses_ms(delay.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)));
    }

    /// The next `count` authenticated MCP `POST`s are answered with `status` (a 5xx) instead of
    /// being handled (the `mcp_errors` fault, re-armed); `count` 0 disarms it.
    ///
    /// # Panics
    ///
    /// If `status` is not a 5xx status: a test asking for anything else has a bug.
    pub fn fail_mcp_requests(&self, status: u16, count: u32) {
        assert!(
            (500..=599).contains(&status),
            "fail_mcp_requests: {status} is not a 5xx status"
        );
        self.state.arm_mcp_errors(status, count);
    }

    /// The connections of the next `count` authenticated MCP `POST`s are closed without a
    /// response (the `drop_connections` fault, re-armed); `count` 0 disarms it.
    pub fn drop_mcp_connections(&self, count: u32) {
        self.state.arm_dropped_connections(count);
    }

    /// Stops serving; the port is released and connections are refused until
    /// [`MockServer::restart`].
    pub fn stop_serving(&self) {
        lock(&self.server).stop();
        if let Some(server) = &self.authorization_server {
            lock(server).stop();
        }
    }

    /// Starts serving again on the same address, with the state kept (tokens, clients and
    /// sessions survive) or lost (as a restarted process without a database). The access log
    /// carries on either way.
    pub fn restart(&self, keep_state: bool) -> Result<(), MockServerError> {
        let mut server = lock(&self.server);
        server.stop();
        if !keep_state {
            self.state.forget_everything();
        }
        let addr = server.local_addr();
        *server = BackgroundServer::spawn("mock-server", addr, router(self.state.clone()))?;
        if let Some(authorization_server) = &self.authorization_server {
            let mut authorization_server = lock(authorization_server);
            authorization_server.stop();
            let addr = authorization_server.local_addr();
            *authorization_server = BackgroundServer::spawn(
                "mock-auth-server",
                addr,
                authorization_server_router(self.state.clone()),
            )?;
        }
        Ok(())
    }

    /// Stops serving and joins the server threads (as dropping does).
    pub fn shutdown(self) {
        self.stop_serving();
    }
}

#[derive(Debug, Clone)]
pub struct MockServerBuilder {
    bind: SocketAddr,
    public_url: Option<String>,
    access_log_file: Option<PathBuf>,
    access_token_ttl: Option<Duration>,
    code_ttl: Option<Duration>,
    protocol_versions: Option<Vec<String>>,
    /// Profile, revisions, quirks and faults: everything a `--config` file can say.
    mock: MockConfig,
    admin_token: Option<String>,
    no_auth: bool,
}

impl Default for MockServerBuilder {
    fn default() -> Self {
        MockServerBuilder {
            bind: ([127, 0, 0, 1], 0).into(),
            public_url: None,
            access_log_file: None,
            access_token_ttl: None,
            code_ttl: None,
            protocol_versions: None,
            mock: MockConfig::default(),
            admin_token: None,
            no_auth: false,
        }
    }
}

impl MockServerBuilder {
    /// Where to listen; default `127.0.0.1:0`.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// The origin advertised in metadata and challenges, for when clients reach the server by
    /// another name (a container, a proxy). Default: `http://` + the bound address.
    pub fn public_url(mut self, url: &str) -> Self {
        self.public_url = Some(url.to_owned());
        self
    }

    /// Also write the access log to this file, one JSON record per line, flushed per request.
    pub fn access_log_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.access_log_file = Some(path.into());
        self
    }

    /// Lifetime of access tokens; default 3600 s.
    pub fn access_token_ttl(mut self, ttl: Duration) -> Self {
        self.access_token_ttl = Some(ttl);
        self
    }

    /// Lifetime of authorization codes; default 60 s.
    pub fn code_ttl(mut self, ttl: Duration) -> Self {
        self.code_ttl = Some(ttl);
        self
    }

    /// MCP revisions offered, newest first; default `2025-11-25`, `2025-06-18`, `2025-03-26`.
    pub fn protocol_versions(mut self, versions: &[&str]) -> Self {
        self.protocol_versions = Some(versions.iter().map(|v| (*v).to_owned()).collect());
        self
    }

    /// Fault: forget every session as soon as it is created; requests naming one get 404.
    pub fn forget_sessions(mut self) -> Self {
        self.mock.faults.forget_sessions = true;
        self
    }

    /// Speak only the older HTTP+SSE transport (MCP 2024-11-05) behind the same OAuth: `POST`
    /// to the endpoint is 405, `GET` opens the stream ([`crate::Faults::legacy_sse_only`]).
    pub fn legacy_sse_only(mut self) -> Self {
        self.mock.faults.legacy_sse_only = true;
        self
    }

    /// Fault: every MCP `POST` is held this long before it is handled.
    pub fn slow_responses(mut self, delay: Duration) -> Self {
        self.mock.faults.slow_responses_ms =
            Some(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// Fault: the first `count` authenticated MCP `POST`s get HTTP `status` (a 5xx).
    pub fn mcp_errors(mut self, status: u16, count: u32) -> Self {
        self.mock.faults.mcp_errors = Some(McpErrors { status, count });
        self
    }

    /// Fault: the connections of the first `count` authenticated MCP `POST`s are closed
    /// without a response.
    pub fn drop_connections(mut self, count: u32) -> Self {
        self.mock.faults.drop_connections = Some(DropConnections { count });
        self
    }

    /// Every fault at once, e.g. read from a file.
    pub fn faults(mut self, faults: Faults) -> Self {
        self.mock.faults = faults;
        self
    }

    /// The server to impersonate; see [`Profile`]. Its revisions apply unless
    /// [`MockServerBuilder::revisions`] says otherwise.
    pub fn profile(mut self, profile: Profile) -> Self {
        self.mock.profile = profile;
        self
    }

    /// The MCP revisions offered, in any order. Offering 2026-07-28 with a legacy revision
    /// makes a dual-era server: both are served on the same endpoint.
    pub fn revisions(mut self, revisions: &[Revision]) -> Self {
        self.mock.revisions = revisions.to_vec();
        self.protocol_versions = None;
        self
    }

    /// Where metadata lives, where the authorization server runs and how clients register; see
    /// [`Discovery`].
    pub fn discovery(mut self, discovery: Discovery) -> Self {
        self.mock.discovery = discovery;
        self
    }

    /// RFC 9207 `iss` left out of authorization responses, and
    /// `authorization_response_iss_parameter_supported` out of the metadata (a server from before
    /// RFC 9207). Sets [`Discovery::authorization_response_iss`], so call it after
    /// [`MockServerBuilder::discovery`].
    pub fn omit_iss(mut self) -> Self {
        self.mock.discovery.authorization_response_iss = AuthorizationResponseIss::Omitted;
        self
    }

    /// RFC 9207 `iss` advertised, but authorization responses name another issuer (the real one
    /// with [`crate::discovery::WRONG_ISSUER_SUFFIX`]): a client must refuse them. Sets
    /// [`Discovery::authorization_response_iss`], so call it after
    /// [`MockServerBuilder::discovery`].
    pub fn wrong_iss(mut self) -> Self {
        self.mock.discovery.authorization_response_iss = AuthorizationResponseIss::Wrong;
        self
    }

    /// Refuse a loopback redirect URI whose port differs from the registered one
    /// ([`Discovery::strict_redirect_port`]); call it after [`MockServerBuilder::discovery`].
    pub fn strict_redirect_port(mut self) -> Self {
        self.mock.discovery.strict_redirect_port = true;
        self
    }

    /// Token responses, challenges or error bodies shaped as some real servers send them
    /// ([`crate::discovery::ResponseShape`]); call it after [`MockServerBuilder::discovery`].
    pub fn response_shape(mut self, shape: crate::discovery::ResponseShape) -> Self {
        self.mock.discovery.response_shape = shape;
        self
    }

    /// One more encoding quirk.
    pub fn quirk(mut self, quirk: Quirk) -> Self {
        self.mock.quirks.push(quirk);
        self
    }

    /// Profile, revisions, quirks and faults as one value (e.g. from [`MockConfig::from_file`]);
    /// replaces whatever the builder had of them.
    pub fn config(mut self, config: MockConfig) -> Self {
        self.mock = config;
        self.protocol_versions = None;
        self
    }

    /// Also answer the admin routes to non-loopback peers presenting this token (see
    /// [`ServerConfig::admin_token`]); without it they answer loopback peers only. An empty token
    /// is ignored rather than accepted, so that it can never open the routes to everyone.
    pub fn admin_token(mut self, token: &str) -> Self {
        self.admin_token = Some(token.to_owned()).filter(|t| !t.is_empty());
        self
    }

    /// Serve MCP without a bearer token (see [`ServerConfig::no_auth`]). Off by default.
    pub fn no_auth(mut self, on: bool) -> Self {
        self.no_auth = on;
        self
    }

    pub async fn start(self) -> Result<MockServer, MockServerError> {
        // Binding and spawning take microseconds; not worth a blocking-pool hop.
        self.start_blocking()
    }

    /// [`MockServerBuilder::start`] for callers without an async runtime.
    pub fn start_blocking(self) -> Result<MockServer, MockServerError> {
        self.mock
            .discovery
            .validate()
            .map_err(MockServerError::Discovery)?;
        self.mock
            .faults
            .validate()
            .map_err(MockServerError::Faults)?;
        let separate = self.mock.discovery.separate_authorization_server;
        if separate && self.public_url.is_some() {
            return Err(MockServerError::Discovery(
                "a separate authorization-server origin is served on loopback next to the MCP \
                 server and cannot be combined with a public URL"
                    .to_owned(),
            ));
        }
        let listener = bind(self.bind)?;
        let local = listener
            .local_addr()
            .map_err(|source| MockServerError::Bind {
                addr: self.bind,
                source,
            })?;
        // Same address, another port: another origin (RFC 6454), which is all the variant needs.
        let authorization_listener = if separate {
            Some(bind(SocketAddr::new(self.bind.ip(), 0))?)
        } else {
            None
        };
        let public_url = self
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{local}"));
        let mut config = ServerConfig::new(&public_url)?;
        if let Some(listener) = &authorization_listener {
            let addr = listener
                .local_addr()
                .map_err(|source| MockServerError::Bind {
                    addr: self.bind,
                    source,
                })?;
            config.authorization_server_url = Some(format!("http://{addr}"));
        }
        if let Some(secs) = self.mock.faults.access_token_ttl_secs {
            config.access_token_ttl = Duration::from_secs(secs);
        }
        if let Some(ttl) = self.access_token_ttl {
            config.access_token_ttl = ttl;
        }
        if let Some(ttl) = self.code_ttl {
            config.code_ttl = ttl;
        }
        config.protocol_versions = match &self.protocol_versions {
            Some(versions) => versions.clone(),
            None => self
                .mock
                .offered_revisions()
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
        };
        config.access_log_file = self.access_log_file.clone();
        config.faults = self.mock.faults.clone();
        config.profile = self.mock.profile;
        config.quirks = Quirks::new(&self.mock.quirks);
        config.admin_token = self.admin_token.clone();
        config.no_auth = self.no_auth;
        config.discovery = self.mock.discovery.clone();
        config.shape = self.mock.shape.clone();
        let state = AppState::new(config)?;
        let server = BackgroundServer::spawn_on("mock-server", listener, router(state.clone()))?;
        let authorization_server = match authorization_listener {
            Some(listener) => Some(std::sync::Mutex::new(BackgroundServer::spawn_on(
                "mock-auth-server",
                listener,
                authorization_server_router(state.clone()),
            )?)),
            None => None,
        };
        Ok(MockServer {
            server: std::sync::Mutex::new(server),
            authorization_server,
            state,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_admin_token_is_never_configured() {
        let empty = MockServer::builder().admin_token("");
        assert!(format!("{empty:?}").contains("admin_token: None"));
        let set = MockServer::builder().admin_token("s3cret");
        assert!(format!("{set:?}").contains(r#"admin_token: Some("s3cret")"#));
    }
}
