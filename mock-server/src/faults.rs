//! Faults the mock can be told to commit, for scenarios about what a client does when a server
//! misbehaves after (or around) the token exchange. Each is off by default; a test turns on the
//! ones its story needs through the builder.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Forget every session as soon as it is created: any request naming one gets 404 "Session
    /// not found", as after a restart that lost its state.
    pub forget_sessions: bool,
}
