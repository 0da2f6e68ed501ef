//! MCP sessions (Streamable HTTP 2025-03-26 … 2025-11-25): created by `initialize`, named by the
//! `Mcp-Session-Id` header, ended by DELETE.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::{broadcast, watch};

use crate::util::lock;

#[derive(Debug)]
struct Session {
    protocol_version: String,
    /// Flips to `true` when the session ends, which closes its GET stream.
    closed: watch::Sender<bool>,
}

#[derive(Debug)]
pub(crate) struct SessionStore {
    sessions: Mutex<HashMap<String, Session>>,
    /// JSON-RPC notifications for every open GET stream.
    outbound: broadcast::Sender<String>,
}

impl Default for SessionStore {
    fn default() -> Self {
        SessionStore {
            sessions: Mutex::new(HashMap::new()),
            outbound: broadcast::channel(64).0,
        }
    }
}

impl SessionStore {
    /// Sends a notification on every open GET stream; how many streams were listening.
    pub fn broadcast(&self, message: String) -> usize {
        self.outbound.send(message).unwrap_or(0)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.outbound.subscribe()
    }

    /// Ends every session (their streams close); how many there were.
    pub fn forget_all(&self) -> usize {
        let mut sessions = lock(&self.sessions);
        for session in sessions.values() {
            session.closed.send_replace(true);
        }
        let count = sessions.len();
        sessions.clear();
        count
    }

    /// A new session with a UUID v4 id: visible ASCII and unguessable, as the transport asks.
    pub fn create(&self, protocol_version: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let (closed, _) = watch::channel(false);
        lock(&self.sessions).insert(
            id.clone(),
            Session {
                protocol_version: protocol_version.to_owned(),
                closed,
            },
        );
        id
    }

    /// The negotiated revision, or `None` for an unknown session.
    pub fn protocol_version(&self, id: &str) -> Option<String> {
        lock(&self.sessions)
            .get(id)
            .map(|s| s.protocol_version.clone())
    }

    pub fn watch_closed(&self, id: &str) -> Option<watch::Receiver<bool>> {
        lock(&self.sessions).get(id).map(|s| s.closed.subscribe())
    }

    pub fn remove(&self, id: &str) -> bool {
        match lock(&self.sessions).remove(id) {
            Some(session) => {
                session.closed.send_replace(true);
                true
            }
            None => false,
        }
    }
}
