//! Clients registered through dynamic client registration (RFC 7591).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::discovery::{Discovery, PRE_REGISTERED_CLIENT_ID};
use crate::util::lock;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RegisteredClient {
    pub client_id: String,
    pub client_name: Option<String>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub issued_at: u64,
    /// The pre-registered client: any loopback `/callback` is its redirect URI (RFC 8252 §7.3
    /// lets a native client pick its port at run time).
    pub any_loopback_callback: bool,
}

impl RegisteredClient {
    /// The client known without registration when the server has no registration endpoint.
    pub fn pre_registered() -> RegisteredClient {
        RegisteredClient {
            client_id: PRE_REGISTERED_CLIENT_ID.to_owned(),
            client_name: Some("pre-registered client".to_owned()),
            redirect_uris: Vec::new(),
            grant_types: vec!["authorization_code".to_owned(), "refresh_token".to_owned()],
            issued_at: 0,
            any_loopback_callback: true,
        }
    }

    /// The client a client ID metadata document describes; the mock's own documents all say
    /// the same: a public client with a loopback `/callback` on any port.
    pub fn from_metadata_document(client_id: &str, name: &str) -> RegisteredClient {
        RegisteredClient {
            client_id: client_id.to_owned(),
            client_name: Some(name.to_owned()),
            ..RegisteredClient::pre_registered()
        }
    }

    /// Exact string comparison with a registered URI (OAuth 2.1 §4.1.1 / §2.3.1), no
    /// normalisation; for the pre-registered client, any loopback `/callback`.
    pub fn accepts_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
            || (self.any_loopback_callback && Discovery::is_pre_registered_redirect(uri))
    }

    pub fn may_use_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

#[derive(Debug, Default)]
pub(crate) struct ClientRegistry {
    clients: Mutex<HashMap<String, RegisteredClient>>,
}

impl ClientRegistry {
    /// Forgets every registered client (a restart without persistence); how many there were.
    pub fn clear(&self) -> usize {
        let mut clients = lock(&self.clients);
        let count = clients.len();
        clients.clear();
        count
    }

    pub fn insert(&self, client: RegisteredClient) {
        lock(&self.clients).insert(client.client_id.clone(), client);
    }

    pub fn get(&self, client_id: &str) -> Option<RegisteredClient> {
        lock(&self.clients).get(client_id).cloned()
    }
}

/// Why a client ID is unknown, in words that say what to do.
pub(crate) fn unknown_client(client_id: &str) -> String {
    if client_id.starts_with("https://") || client_id.starts_with("http://") {
        format!(
            "no client {client_id:?}: a client ID metadata document is resolved only when the \
             server offers them and the URL is one of its own (<origin>/clients/<name>); the mock \
             never fetches documents from elsewhere"
        )
    } else {
        format!("no client {client_id:?} is registered")
    }
}
