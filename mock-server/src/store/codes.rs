//! Authorization requests awaiting consent, and the authorization codes consent produces.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::api_error::ApiError;
use crate::store::tokens::random_secret;
use crate::util::lock;

/// A validated authorization request, kept until the user decides.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Authorization {
    pub client_id: String,
    pub redirect_uri: String,
    /// Whether `redirect_uri` was in the request (it may be left out when only one is
    /// registered); RFC 6749 §4.1.3 then requires it again at the token endpoint.
    pub redirect_uri_sent: bool,
    pub state: Option<String>,
    pub code_challenge: String,
    pub resource: Option<String>,
    pub scope: String,
}

#[derive(Debug, Clone)]
pub(crate) struct IssuedCode {
    pub authorization: Authorization,
    pub expires_at: Option<Instant>,
    pub family: u64,
}

impl IssuedCode {
    pub fn is_expired(&self) -> bool {
        self.expires_at.is_some_and(|at| Instant::now() >= at)
    }
}

/// The outcome of presenting a code at the token endpoint.
#[derive(Debug, Clone)]
pub(crate) enum Redemption {
    Unknown,
    /// Presented before: the family it started must be revoked.
    Replayed {
        family: u64,
        client_id: String,
    },
    First(IssuedCode),
}

#[derive(Debug, Default)]
struct Grants {
    pending: HashMap<String, Authorization>,
    codes: HashMap<String, (IssuedCode, bool)>,
    families: u64,
}

#[derive(Debug, Default)]
pub(crate) struct GrantStore {
    grants: Mutex<Grants>,
}

impl GrantStore {
    /// Forgets every pending authorization and code (a restart without persistence).
    pub fn clear(&self) {
        *lock(&self.grants) = Grants::default();
    }

    pub fn add_pending(&self, authorization: Authorization) -> Result<String, ApiError> {
        let request_id = random_secret()?;
        lock(&self.grants)
            .pending
            .insert(request_id.clone(), authorization);
        Ok(request_id)
    }

    pub fn pending(&self, request_id: &str) -> Option<Authorization> {
        lock(&self.grants).pending.get(request_id).cloned()
    }

    /// Consent is given once: the request is gone after this.
    pub fn take_pending(&self, request_id: &str) -> Option<Authorization> {
        lock(&self.grants).pending.remove(request_id)
    }

    pub fn issue_code(
        &self,
        authorization: Authorization,
        ttl: Duration,
    ) -> Result<String, ApiError> {
        let code = random_secret()?;
        let mut grants = lock(&self.grants);
        grants.families += 1;
        let issued = IssuedCode {
            authorization,
            expires_at: Instant::now().checked_add(ttl),
            family: grants.families,
        };
        grants.codes.insert(code.clone(), (issued, false));
        Ok(code)
    }

    /// Marks the code used on its first presentation, whatever the outcome of the exchange: a
    /// code that failed PKCE once must not be left open to further guesses.
    pub fn redeem(&self, code: &str) -> Redemption {
        let mut grants = lock(&self.grants);
        match grants.codes.get_mut(code) {
            None => Redemption::Unknown,
            Some((issued, true)) => Redemption::Replayed {
                family: issued.family,
                client_id: issued.authorization.client_id.clone(),
            },
            Some((issued, used)) => {
                *used = true;
                Redemption::First(issued.clone())
            }
        }
    }
}
