//! What the server remembers between requests: registered clients, pending authorizations and
//! codes, tokens, and MCP sessions. Plain data and its bookkeeping; nothing here knows about HTTP
//! handlers, the shared state or the access-log middleware, so every layer above can use it.

pub(crate) mod clients;
pub(crate) mod codes;
pub(crate) mod legacy_streams;
pub(crate) mod sessions;
pub(crate) mod tokens;
