//! Access and refresh tokens: issuing, checking, rotating and revoking.
//!
//! Tokens are opaque random strings; each also gets a small label (`at-1`, `rt-1`) that is what the
//! access log shows. Every token belongs to a *family*, the chain of tokens descending from one
//! authorization code, so that a replayed code can revoke everything it produced
//! (OAuth 2.1 §4.1.3; RFC 6819 §4.4.1.1).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::TryRngCore;

use crate::access_log::Bearer;
use crate::api_error::ApiError;
use crate::util::{lock, same_resource};

/// 256 bits from the operating system's generator, base64url without padding (43 characters).
pub(crate) fn random_secret() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| ApiError::server_error(format!("no randomness available: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What a grant is for; carried from the code to every token of its family.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GrantInfo {
    pub client_id: String,
    pub scope: String,
    /// The RFC 8707 resource the tokens are for; `None` when the client named none, in which
    /// case the tokens are for this server's only resource.
    pub resource: Option<String>,
    pub family: u64,
}

#[derive(Debug)]
struct AccessToken {
    id: String,
    grant: GrantInfo,
    expires_at: Option<Instant>,
    revoked: bool,
}

#[derive(Debug)]
struct RefreshToken {
    id: String,
    grant: GrantInfo,
    /// The secret of the access token issued alongside, revoked when this one is rotated.
    access_secret: String,
    revoked: bool,
}

#[derive(Debug, Default)]
struct Tokens {
    issued_access: u64,
    issued_refresh: u64,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
}

/// A freshly issued pair.
#[derive(Debug, Clone)]
pub(crate) struct IssuedTokens {
    pub access_token: String,
    pub access_id: String,
    pub refresh_token: String,
    pub refresh_id: String,
    pub expires_in: u64,
    pub scope: String,
}

/// Why a refresh token was refused; all of them are `invalid_grant` on the wire.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RefreshRefusal {
    Unknown,
    Revoked { token_id: String },
    OtherClient { token_id: String },
}

#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    tokens: Mutex<Tokens>,
}

impl TokenStore {
    pub fn issue(&self, grant: GrantInfo, ttl: Duration) -> Result<IssuedTokens, ApiError> {
        let access_token = random_secret()?;
        let refresh_token = random_secret()?;
        let mut tokens = lock(&self.tokens);
        tokens.issued_access += 1;
        tokens.issued_refresh += 1;
        let access_id = format!("at-{}", tokens.issued_access);
        let refresh_id = format!("rt-{}", tokens.issued_refresh);
        let scope = grant.scope.clone();
        tokens.access.insert(
            access_token.clone(),
            AccessToken {
                id: access_id.clone(),
                grant: grant.clone(),
                // A TTL too large to add means "never expires" rather than a panic.
                expires_at: Instant::now().checked_add(ttl),
                revoked: false,
            },
        );
        tokens.refresh.insert(
            refresh_token.clone(),
            RefreshToken {
                id: refresh_id.clone(),
                grant,
                access_secret: access_token.clone(),
                revoked: false,
            },
        );
        Ok(IssuedTokens {
            access_token,
            access_id,
            refresh_token,
            refresh_id,
            expires_in: ttl.as_secs(),
            scope,
        })
    }

    /// Judges a bearer token presented to the protected resource whose identifier is `resource`.
    pub fn check(&self, secret: &str, resource: &str) -> (Bearer, Option<GrantInfo>) {
        let tokens = lock(&self.tokens);
        let Some(token) = tokens.access.get(secret) else {
            return (Bearer::Unknown, None);
        };
        let token_id = token.id.clone();
        if token.revoked {
            (Bearer::Revoked { token_id }, None)
        } else if token.expires_at.is_some_and(|at| Instant::now() >= at) {
            (Bearer::Expired { token_id }, None)
        } else if token
            .grant
            .resource
            .as_deref()
            .is_some_and(|r| !same_resource(r, resource))
        {
            (Bearer::WrongResource { token_id }, None)
        } else {
            (Bearer::Valid { token_id }, Some(token.grant.clone()))
        }
    }

    /// The grant behind a refresh token, without using it up (to validate a request first).
    pub fn refresh_grant(&self, secret: &str) -> Option<GrantInfo> {
        lock(&self.tokens)
            .refresh
            .get(secret)
            .map(|t| t.grant.clone())
    }

    /// Refresh-token rotation (OAuth 2.1 §4.3.1): the presented refresh token and the access
    /// token issued with it are revoked, and the grant is handed back for a new pair.
    pub fn rotate(
        &self,
        secret: &str,
        client_id: &str,
    ) -> Result<(String, GrantInfo), RefreshRefusal> {
        let mut tokens = lock(&self.tokens);
        let Some(refresh) = tokens.refresh.get_mut(secret) else {
            return Err(RefreshRefusal::Unknown);
        };
        let token_id = refresh.id.clone();
        if refresh.revoked {
            return Err(RefreshRefusal::Revoked { token_id });
        }
        if refresh.grant.client_id != client_id {
            return Err(RefreshRefusal::OtherClient { token_id });
        }
        refresh.revoked = true;
        let grant = refresh.grant.clone();
        let access_secret = refresh.access_secret.clone();
        if let Some(access) = tokens.access.get_mut(&access_secret) {
            access.revoked = true;
        }
        Ok((token_id, grant))
    }

    /// Forgets every token (a restart without persistence). The counters carry on, so ids in
    /// the access log stay unique across the restart.
    pub fn clear(&self) {
        let mut tokens = lock(&self.tokens);
        tokens.access.clear();
        tokens.refresh.clear();
    }

    /// Makes every live access token expired now (refresh tokens stay usable); how many.
    pub fn expire_all_access(&self) -> usize {
        let now = Instant::now();
        let mut tokens = lock(&self.tokens);
        let mut count = 0;
        for token in tokens.access.values_mut().filter(|t| !t.revoked) {
            if token.expires_at.is_none_or(|at| at > now) {
                token.expires_at = Some(now);
                count += 1;
            }
        }
        count
    }

    /// Revokes every access token (refresh tokens stay usable); how many were live.
    pub fn revoke_all_access(&self) -> usize {
        let mut tokens = lock(&self.tokens);
        let mut count = 0;
        for token in tokens.access.values_mut().filter(|t| !t.revoked) {
            token.revoked = true;
            count += 1;
        }
        count
    }

    /// Revokes every token descending from one authorization code.
    pub fn revoke_family(&self, family: u64) -> usize {
        let mut tokens = lock(&self.tokens);
        let mut revoked = 0;
        for token in tokens
            .access
            .values_mut()
            .filter(|t| t.grant.family == family)
        {
            revoked += usize::from(!token.revoked);
            token.revoked = true;
        }
        for token in tokens
            .refresh
            .values_mut()
            .filter(|t| t.grant.family == family)
        {
            revoked += usize::from(!token.revoked);
            token.revoked = true;
        }
        revoked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESOURCE: &str = "http://127.0.0.1:1/";

    fn grant(family: u64) -> GrantInfo {
        GrantInfo {
            client_id: "c".to_owned(),
            scope: "mcp".to_owned(),
            resource: Some(RESOURCE.to_owned()),
            family,
        }
    }

    #[test]
    fn secrets_are_256_bit_base64url() -> anyhow::Result<()> {
        let a = random_secret()?;
        assert_eq!(a.len(), 43);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, random_secret()?);
        Ok(())
    }

    #[test]
    fn rotation_revokes_the_old_pair_and_refuses_the_old_refresh_token() -> anyhow::Result<()> {
        let store = TokenStore::default();
        let first = store.issue(grant(1), Duration::from_secs(60))?;
        let rotated = store.rotate(&first.refresh_token, "c");
        assert!(rotated.is_ok());
        assert_eq!(
            store.check(&first.access_token, RESOURCE).0,
            Bearer::Revoked {
                token_id: "at-1".to_owned()
            }
        );
        assert_eq!(
            store.rotate(&first.refresh_token, "c"),
            Err(RefreshRefusal::Revoked {
                token_id: "rt-1".to_owned()
            })
        );
        Ok(())
    }

    #[test]
    fn tokens_are_judged_expired_and_for_the_wrong_resource() -> anyhow::Result<()> {
        let store = TokenStore::default();
        let short = store.issue(grant(1), Duration::ZERO)?;
        assert!(matches!(
            store.check(&short.access_token, RESOURCE).0,
            Bearer::Expired { .. }
        ));
        let long = store.issue(grant(2), Duration::from_secs(60))?;
        assert!(matches!(
            store.check(&long.access_token, "http://elsewhere/").0,
            Bearer::WrongResource { .. }
        ));
        assert_eq!(store.check("nope", RESOURCE).0, Bearer::Unknown);
        assert_eq!(store.revoke_family(2), 2);
        Ok(())
    }
}
