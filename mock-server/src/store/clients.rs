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
    /// The pre-registered client: a loopback URL on one of the driven clients' callback paths is its
    /// redirect URI (`discovery::PRE_REGISTERED_REDIRECT_PATHS`; RFC 8252 §7.3
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
    /// normalisation, except that with `any_loopback_port` a loopback IP literal's port may
    /// differ (RFC 8252 §7.3: the server MUST allow any port for loopback IP redirect URIs; not
    /// `localhost`, whose use §8.3 does not recommend); for the pre-registered client, any
    /// loopback URL on one of its callback paths.
    pub fn accepts_redirect_uri(&self, uri: &str, any_loopback_port: bool) -> bool {
        self.redirect_uris
            .iter()
            .any(|r| r == uri || (any_loopback_port && same_but_loopback_port(r, uri)))
            || (self.any_loopback_callback && Discovery::is_pre_registered_redirect(uri))
    }

    pub fn may_use_grant(&self, grant_type: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant_type)
    }
}

/// Both `http` URIs on the same loopback IP literal (127.0.0.0/8 or ::1), the same string but
/// for the port: compared as text, as the rest of the rule is (a dot segment or an upper-case
/// scheme still differs).
fn same_but_loopback_port(registered: &str, requested: &str) -> bool {
    /// `http://HOST[:PORT]REST` as (HOST, REST).
    fn split(uri: &str) -> Option<(&str, &str)> {
        let rest = uri.strip_prefix("http://")?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let host = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => {
                let port = &authority[i + 1..];
                if !port.chars().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                &authority[..i]
            }
            _ => authority,
        };
        Some((host, tail))
    }
    let (Some((host_a, rest_a)), Some((host_b, rest_b))) = (split(registered), split(requested))
    else {
        return false;
    };
    let loopback_ip = host_a
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback());
    loopback_ip && host_a == host_b && rest_a == rest_b
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

#[cfg(test)]
mod tests {
    use super::*;

    fn registered(uri: &str) -> RegisteredClient {
        RegisteredClient {
            client_id: "c".to_owned(),
            client_name: None,
            redirect_uris: vec![uri.to_owned()],
            grant_types: Vec::new(),
            issued_at: 0,
            any_loopback_callback: false,
        }
    }

    #[test]
    fn a_loopback_ip_redirect_may_change_its_port_unless_the_server_is_strict() {
        let client = registered("http://127.0.0.1:33418/callback");
        assert!(client.accepts_redirect_uri("http://127.0.0.1:33418/callback", false));
        assert!(client.accepts_redirect_uri("http://127.0.0.1:40000/callback", true));
        assert!(!client.accepts_redirect_uri("http://127.0.0.1:40000/callback", false));
        let v6 = registered("http://[::1]:1/cb");
        assert!(v6.accepts_redirect_uri("http://[::1]:2/cb", true));
    }

    #[test]
    fn localhost_another_host_path_or_scheme_is_still_refused() {
        let client = registered("http://127.0.0.1:33418/callback");
        assert!(!client.accepts_redirect_uri("http://localhost:33418/callback", true));
        assert!(!client.accepts_redirect_uri("http://127.0.0.2:33418/callback", true));
        assert!(!client.accepts_redirect_uri("http://127.0.0.1:33418/other", true));
        assert!(!client.accepts_redirect_uri("http://127.0.0.1:1/callback?x=1", true));
        let by_name = registered("http://localhost:1/callback");
        assert!(!by_name.accepts_redirect_uri("http://localhost:2/callback", true));
        assert!(!client.accepts_redirect_uri("HTTP://127.0.0.1:1/callback", true));
        assert!(!client.accepts_redirect_uri("http://127.0.0.1:1/./callback", true));
        assert!(!client.accepts_redirect_uri("http://user@127.0.0.1:1/callback", true));
        let https = registered("https://127.0.0.1:1/callback");
        assert!(!https.accepts_redirect_uri("https://127.0.0.1:2/callback", true));
    }
}
