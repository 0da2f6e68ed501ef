//! The shared state behind every handler: configuration, the access log and the stores.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::access_log::{AccessLog, AccessRecord};
use crate::config::ServerConfig;
use crate::discovery::{Discovery, Registration};
use crate::error::MockServerError;
use crate::faults::Faults;
use crate::store::clients::{ClientRegistry, RegisteredClient};
use crate::store::codes::GrantStore;
use crate::store::legacy_streams::LegacyStreams;
use crate::store::sessions::SessionStore;
use crate::store::tokens::TokenStore;
use crate::util::lock;

/// Cheap to clone; every clone sees the same server.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: ServerConfig,
    started: Instant,
    log: Arc<AccessLog>,
    /// Tools added while running (a `notifications/tools/list_changed` scenario), after the
    /// built-in ones.
    extra_tools: Mutex<Vec<String>>,
    /// The `forget_sessions` fault, switched on while running.
    forgetting_sessions: std::sync::atomic::AtomicBool,
    /// The transport faults in force: from the configuration at start, re-armed while running.
    transport: Mutex<TransportFaults>,
    clients: ClientRegistry,
    grants: GrantStore,
    tokens: TokenStore,
    sessions: SessionStore,
    /// The older HTTP+SSE transport's streams (the `legacy_sse_only` fault).
    legacy_streams: LegacyStreams,
}

impl AppState {
    /// Fails only when the access-log file cannot be created.
    pub fn new(config: ServerConfig) -> Result<AppState, MockServerError> {
        let log = Arc::new(AccessLog::new(config.access_log_file.as_deref())?);
        Ok(AppState::with_log(config, Instant::now(), log))
    }

    fn with_log(config: ServerConfig, started: Instant, log: Arc<AccessLog>) -> AppState {
        let transport = TransportFaults::from_config(&config.faults);
        let state = AppState {
            inner: Arc::new(Inner {
                config,
                started,
                log,
                extra_tools: Mutex::new(Vec::new()),
                forgetting_sessions: std::sync::atomic::AtomicBool::new(false),
                transport: Mutex::new(transport),
                clients: ClientRegistry::default(),
                grants: GrantStore::default(),
                tokens: TokenStore::default(),
                sessions: SessionStore::default(),
                legacy_streams: LegacyStreams::default(),
            }),
        };
        state.add_pre_registered_client();
        state
    }

    /// A server without dynamic registration knows its one client from the start, and after a
    /// restart too (it is configuration, not state).
    fn add_pre_registered_client(&self) {
        if self.inner.config.discovery.registration == Registration::PreRegistered {
            self.inner
                .clients
                .insert(RegisteredClient::pre_registered());
        }
    }

    /// The client `client_id` names: a registered (or pre-registered) one, or, on a server with
    /// client ID metadata documents, one of the mock's own documents.
    pub(crate) fn client(&self, client_id: &str) -> Option<RegisteredClient> {
        if let Some(client) = self.inner.clients.get(client_id) {
            return Some(client);
        }
        let config = &self.inner.config;
        if config.discovery.registration != Registration::ClientIdMetadata {
            return None;
        }
        let name = Discovery::own_client_metadata(client_id, config.authorization_server_origin())?;
        Some(RegisteredClient::from_metadata_document(client_id, &name))
    }

    /// Forgets every dynamically registered client: their next authorization or token request
    /// gets `invalid_client`, and a conformant client registers again.
    pub(crate) fn forget_clients(&self) -> usize {
        let forgotten = self.inner.clients.clear();
        self.add_pre_registered_client();
        forgotten
    }

    /// What a restart without persistence loses: clients, codes, tokens, sessions and tools
    /// added while running. Configuration, clock and access log carry on, so one log tells the
    /// whole story.
    pub(crate) fn forget_everything(&self) {
        self.forget_clients();
        self.inner.grants.clear();
        self.inner.tokens.clear();
        self.inner.sessions.forget_all();
        self.inner.legacy_streams.forget_all();
        lock(&self.inner.extra_tools).clear();
    }

    /// Whether sessions are forgotten as soon as they are made (the fault, from the start or
    /// switched on while running).
    pub(crate) fn forgets_sessions(&self) -> bool {
        self.inner.config.faults.forget_sessions
            || self
                .inner
                .forgetting_sessions
                .load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn start_forgetting_sessions(&self) {
        self.inner
            .forgetting_sessions
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// How long to hold each MCP `POST` (the slow-responses fault), if at all.
    pub(crate) fn slow_responses_ms(&self) -> Option<u64> {
        lock(&self.inner.transport).slow_ms.filter(|ms| *ms > 0)
    }

    pub(crate) fn set_slow_responses_ms(&self, ms: Option<u64>) {
        lock(&self.inner.transport).slow_ms = ms;
    }

    /// Arms the 5xx fault: the next `count` authenticated MCP `POST`s get `status`.
    pub(crate) fn arm_mcp_errors(&self, status: u16, count: u32) {
        lock(&self.inner.transport).errors = Budget::new(count).map(|b| (status, b));
    }

    /// Arms the dropped-connection fault for the next `count` authenticated MCP `POST`s.
    pub(crate) fn arm_dropped_connections(&self, count: u32) {
        lock(&self.inner.transport).drops = Budget::new(count);
    }

    /// The transport fault to commit on an authenticated MCP `POST`, if one is armed: dropped
    /// connections first, then 5xx answers. Each call uses one up.
    pub(crate) fn take_transport_fault(&self) -> Option<TransportFault> {
        let mut faults = lock(&self.inner.transport);
        if let Some((nth, of)) = faults.drops.as_mut().and_then(Budget::take) {
            return Some(TransportFault::DropConnection { nth, of });
        }
        if let Some((status, budget)) = faults.errors.as_mut() {
            if let Some((nth, of)) = budget.take() {
                return Some(TransportFault::Error {
                    status: *status,
                    nth,
                    of,
                });
            }
        }
        None
    }

    /// Pushes `notifications/tools/list_changed` on every open GET stream; how many heard.
    pub(crate) fn notify_tools_changed(&self) -> usize {
        let message = serde_json::json!({
            "jsonrpc": "2.0",
            "method": "notifications/tools/list_changed"
        });
        self.sessions().broadcast(message.to_string())
            + self.legacy_streams().broadcast(&message.to_string())
    }

    /// Pushes `notifications/prompts/list_changed` the same way; how many heard.
    pub(crate) fn notify_prompts_changed(&self) -> usize {
        let message = serde_json::json!({
            "jsonrpc": "2.0",
            "method": "notifications/prompts/list_changed"
        });
        self.sessions().broadcast(message.to_string())
    }

    pub(crate) fn extra_tools(&self) -> Vec<String> {
        lock(&self.inner.extra_tools).clone()
    }

    pub(crate) fn add_extra_tool(&self, name: &str) {
        let mut tools = lock(&self.inner.extra_tools);
        if !tools.iter().any(|t| t == name) {
            tools.push(name.to_owned());
        }
    }

    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The access log so far.
    pub fn received_requests(&self) -> Vec<AccessRecord> {
        self.inner.log.snapshot()
    }

    /// The records numbered after `seq`: a way to follow a long log without copying all of it
    /// each time (property tests check one record per request over 100,000 requests).
    pub fn received_requests_after(&self, seq: u64) -> Vec<AccessRecord> {
        self.inner.log.after(seq)
    }

    /// Milliseconds since the server started (the access log's clock).
    pub(crate) fn elapsed_ms(&self) -> u64 {
        crate::util::elapsed_ms(self.inner.started)
    }

    pub(crate) fn access_log(&self) -> &AccessLog {
        &self.inner.log
    }

    pub(crate) fn clients(&self) -> &ClientRegistry {
        &self.inner.clients
    }

    pub(crate) fn grants(&self) -> &GrantStore {
        &self.inner.grants
    }

    pub(crate) fn tokens(&self) -> &TokenStore {
        &self.inner.tokens
    }

    pub(crate) fn sessions(&self) -> &SessionStore {
        &self.inner.sessions
    }

    pub(crate) fn legacy_streams(&self) -> &LegacyStreams {
        &self.inner.legacy_streams
    }
}

/// A fault committed `nth` time `of` times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportFault {
    DropConnection { nth: u32, of: u32 },
    Error { status: u16, nth: u32, of: u32 },
}

/// A fault's remaining uses.
#[derive(Debug, Clone, Copy)]
struct Budget {
    used: u32,
    total: u32,
}

impl Budget {
    fn new(total: u32) -> Option<Budget> {
        (total > 0).then_some(Budget { used: 0, total })
    }

    /// One use, as (which, of how many); `None` when spent.
    fn take(&mut self) -> Option<(u32, u32)> {
        (self.used < self.total).then(|| {
            self.used += 1;
            (self.used, self.total)
        })
    }
}

#[derive(Debug, Default)]
struct TransportFaults {
    slow_ms: Option<u64>,
    errors: Option<(u16, Budget)>,
    drops: Option<Budget>,
}

impl TransportFaults {
    fn from_config(faults: &Faults) -> TransportFaults {
        TransportFaults {
            slow_ms: faults.slow_responses_ms,
            errors: faults
                .mcp_errors
                .and_then(|e| Budget::new(e.count).map(|b| (e.status, b))),
            drops: faults.drop_connections.and_then(|d| Budget::new(d.count)),
        }
    }
}
