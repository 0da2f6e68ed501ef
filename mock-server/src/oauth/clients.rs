//! Clients registered through dynamic client registration (RFC 7591).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::state::lock;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RegisteredClient {
    pub client_id: String,
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub issued_at: u64,
}

impl RegisteredClient {
    pub fn may_use_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

#[derive(Debug, Default)]
pub(crate) struct ClientRegistry {
    clients: Mutex<HashMap<String, RegisteredClient>>,
}

impl ClientRegistry {
    /// Forgets every registered client (a restart without persistence).
    pub fn clear(&self) {
        crate::state::lock(&self.clients).clear();
    }

    pub fn insert(&self, client: RegisteredClient) {
        lock(&self.clients).insert(client.client_id.clone(), client);
    }

    pub fn get(&self, client_id: &str) -> Option<RegisteredClient> {
        lock(&self.clients).get(client_id).cloned()
    }
}
