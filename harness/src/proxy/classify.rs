//! Which protocol phase a request to someone else's server belongs to. The mock decides by its
//! own fixed paths; a real server's are learned: the MCP endpoint is the URL the user gave, the
//! OAuth endpoints are what the authorization server's metadata names. Before (or without) the
//! metadata, the usual path endings decide.

use mock_server::Phase;
use url::Url;

use crate::proxy::origins::origin_of;

/// The endpoints learned so far, by upstream origin and path.
#[derive(Debug, Clone)]
pub struct Endpoints {
    mcp_origin: String,
    mcp_path: String,
    learned: Vec<(String, String, Phase)>,
}

/// The AS metadata fields (RFC 8414 §2) whose endpoints have a phase of their own.
const METADATA_ENDPOINTS: [(&str, Phase); 3] = [
    ("authorization_endpoint", Phase::Authorization),
    ("token_endpoint", Phase::Token),
    ("registration_endpoint", Phase::Registration),
];

impl Endpoints {
    pub fn new(mcp_url: &Url) -> Endpoints {
        Endpoints {
            mcp_origin: origin_of(mcp_url).unwrap_or_default(),
            mcp_path: mcp_url.path().to_owned(),
            learned: Vec::new(),
        }
    }

    /// Learns the endpoints an authorization server's metadata document names.
    pub fn learn_metadata(&mut self, doc: &serde_json::Value) {
        for (field, phase) in METADATA_ENDPOINTS {
            let Some(url) = doc
                .get(field)
                .and_then(|v| v.as_str())
                .and_then(|s| Url::parse(s).ok())
            else {
                continue;
            };
            let Some(origin) = origin_of(&url) else {
                continue;
            };
            let entry = (origin, url.path().to_owned(), phase);
            if !self.learned.contains(&entry) {
                self.learned.push(entry);
            }
        }
    }

    /// The phase of a request for `path` on the listener standing for `origin`.
    pub fn phase(&self, origin: &str, path: &str) -> Phase {
        if let Some((_, _, phase)) = self
            .learned
            .iter()
            .find(|(o, p, _)| o == origin && p == path)
        {
            return *phase;
        }
        if path.starts_with("/.well-known/") {
            return Phase::Discovery;
        }
        if origin == self.mcp_origin && same_path(path, &self.mcp_path) {
            return Phase::Mcp;
        }
        let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        match last {
            "authorize" | "consent" => Phase::Authorization,
            "token" => Phase::Token,
            "register" | "registration" => Phase::Registration,
            _ => Phase::Other,
        }
    }
}

/// `/mcp` and `/mcp/` are the same endpoint; `/` is only `/`.
fn same_path(a: &str, b: &str) -> bool {
    a == b || (a.len() > 1 && b.len() > 1 && a.trim_end_matches('/') == b.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_endpoints_win_over_path_endings() -> anyhow::Result<()> {
        let mut endpoints = Endpoints::new(&Url::parse("http://localhost:3000/mcp")?);
        let mcp = "http://localhost:3000";
        let auth = "http://localhost:3001";
        assert_eq!(endpoints.phase(mcp, "/mcp"), Phase::Mcp);
        assert_eq!(endpoints.phase(auth, "/mcp"), Phase::Other);
        assert_eq!(endpoints.phase(auth, "/token"), Phase::Token);
        assert_eq!(endpoints.phase(auth, "/oauth2/v1/exchange"), Phase::Other);
        assert_eq!(
            endpoints.phase(mcp, "/.well-known/oauth-protected-resource/mcp"),
            Phase::Discovery
        );
        endpoints.learn_metadata(&serde_json::json!({
            "issuer": "http://localhost:3001/",
            "token_endpoint": "http://localhost:3001/oauth2/v1/exchange",
            "authorization_endpoint": "http://localhost:3001/login",
        }));
        assert_eq!(endpoints.phase(auth, "/oauth2/v1/exchange"), Phase::Token);
        assert_eq!(endpoints.phase(auth, "/login"), Phase::Authorization);
        assert_eq!(endpoints.phase(mcp, "/login"), Phase::Other);
        Ok(())
    }
}
