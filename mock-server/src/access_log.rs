//! The access log: one [`AccessRecord`] per HTTP request, whatever its outcome.
//!
//! It is the evidence the harness judges clients by ("did an authenticated `initialize` follow the
//! token exchange?"), so it records what was asked and answered in protocol terms, and never a
//! secret: tokens appear only as stable labels (`at-1`, `rt-1`).
//!
//! This module is the log itself (records, the store, the canonical rendering, and the notepad
//! handlers write to); the middleware that fills it for every request is
//! [`crate::middleware::record_access`].

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::MockServerError;
use crate::paths;
use crate::util::lock;

/// Which part of the protocol a request belongs to, decided by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Discovery,
    Registration,
    Authorization,
    Token,
    Mcp,
    Admin,
    Other,
}

impl Phase {
    pub fn of_path(path: &str) -> Phase {
        if path.starts_with("/.well-known/") {
            Phase::Discovery
        } else if path == paths::REGISTER {
            Phase::Registration
        } else if path == paths::AUTHORIZE || path == paths::CONSENT {
            Phase::Authorization
        } else if path == paths::TOKEN {
            Phase::Token
        } else if path == paths::MCP {
            Phase::Mcp
        } else if path.starts_with("/__admin/") {
            Phase::Admin
        } else {
            Phase::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Discovery => "discovery",
            Phase::Registration => "registration",
            Phase::Authorization => "authorization",
            Phase::Token => "token",
            Phase::Mcp => "mcp",
            Phase::Admin => "admin",
            Phase::Other => "other",
        }
    }
}

/// What the `Authorization: Bearer` header of a request amounted to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Bearer {
    /// No bearer token was sent.
    #[default]
    None,
    Valid {
        token_id: String,
    },
    /// A token this server never issued (or a malformed header).
    Unknown,
    Revoked {
        token_id: String,
    },
    Expired {
        token_id: String,
    },
    /// Issued by this server for another resource (RFC 8707 audience).
    WrongResource {
        token_id: String,
    },
}

impl Bearer {
    /// `-`, `at-1`, `unknown`, `revoked:at-1`, ...: the form used in canonical logs.
    pub fn label(&self) -> String {
        match self {
            Bearer::None => "-".to_owned(),
            Bearer::Valid { token_id } => token_id.clone(),
            Bearer::Unknown => "unknown".to_owned(),
            Bearer::Revoked { token_id } => format!("revoked:{token_id}"),
            Bearer::Expired { token_id } => format!("expired:{token_id}"),
            Bearer::WrongResource { token_id } => format!("wrong-resource:{token_id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessRecord {
    /// 1, 2, ... in the order responses were produced.
    pub seq: u64,
    /// Milliseconds from server start to the request's arrival.
    pub at_ms: u64,
    pub method: String,
    /// The path without the query.
    pub path: String,
    pub phase: Phase,
    pub rpc_method: Option<String>,
    pub rpc_id: Option<Value>,
    /// `request`, `notification`, `response`, `batch` or `invalid`.
    pub rpc_kind: Option<String>,
    /// For `tools/call`, the `name` of the tool called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub bearer: Bearer,
    /// The `Mcp-Session-Id` request header, or the id an `initialize` response issued.
    pub session_id: Option<String>,
    /// The `Mcp-Protocol-Version` request header.
    pub protocol_version: Option<String>,
    pub accept: Option<String>,
    pub user_agent: Option<String>,
    pub status: u16,
    pub error: Option<String>,
    /// `params._meta["io.modelcontextprotocol/protocolVersion"]` of a JSON-RPC body, when sent
    /// (MCP 2026-07-28 requires it on every request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_protocol_version: Option<String>,
    /// Whether `params._meta["io.modelcontextprotocol/clientCapabilities"]` was an object.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub meta_client_capabilities: bool,
    /// The `Mcp-Method` request header (MCP 2026-07-28, Streamable HTTP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_method_header: Option<String>,
    /// The server handled the request under its modern (2026-07-28, stateless) rules.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub modern: bool,
    /// The revision the server served the request under: what `initialize` negotiated, the
    /// session's revision, or the accepted `_meta` version of a modern request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negotiated: Option<String>,
    /// The request arrived on the authorization server's own listener (a server configured with
    /// a separate authorization-server origin); `false` on the MCP server's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_authorization_server: bool,
    /// The RFC 8707 `resource` parameter of an authorization or token request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The `redirect_uri` of an authorization or token request, or the first one registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// A fault the server committed on this request on purpose ([`crate::Faults`]), e.g.
    /// `mcp-error 503 (1 of 2)`, `dropped-connection (1 of 1)`, `slow 2000 ms`. A dropped
    /// connection is recorded with status 0: no response was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// On a server that is not OAuth ([`crate::discovery::Credentials::ApiKey`]), whether an MCP
    /// request carried the configured key (`Some(false)`: missing or wrong); `None` elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<bool>,
}

/// What handlers learn about a request that the middleware cannot see from headers alone.
#[derive(Debug, Clone, Default)]
pub(crate) struct NoteData {
    pub rpc_method: Option<String>,
    pub rpc_id: Option<Value>,
    pub rpc_kind: Option<String>,
    pub tool_name: Option<String>,
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub bearer: Bearer,
    pub error: Option<String>,
    pub meta_protocol_version: Option<String>,
    pub meta_client_capabilities: bool,
    pub modern: bool,
    pub negotiated: Option<String>,
    pub resource: Option<String>,
    pub redirect_uri: Option<String>,
    pub fault: Option<String>,
    pub api_key: Option<bool>,
    /// The session a request belongs to when no `Mcp-Session-Id` header names it: the stream id
    /// of the older HTTP+SSE transport (its `GET`, and its messages' `session_id` query).
    pub session_id: Option<String>,
}

/// Marks requests that arrived on the authorization server's own listener.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OnAuthorizationServer;

/// A per-request notepad shared between the logging middleware and the handler.
#[derive(Debug, Clone, Default)]
pub(crate) struct Notes(Arc<Mutex<NoteData>>);

impl Notes {
    pub fn update(&self, f: impl FnOnce(&mut NoteData)) {
        f(&mut lock(&self.0));
    }

    pub fn take(&self) -> NoteData {
        std::mem::take(&mut *lock(&self.0))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Notes {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Without the middleware (a handler mounted alone) notes are simply not kept.
        Ok(parts.extensions.get::<Notes>().cloned().unwrap_or_default())
    }
}

/// The records so far, plus the optional JSON-lines mirror on disk.
pub(crate) struct AccessLog {
    records: Mutex<Vec<AccessRecord>>,
    file: Option<Mutex<File>>,
}

impl AccessLog {
    pub fn new(path: Option<&Path>) -> Result<AccessLog, MockServerError> {
        let file = match path {
            Some(path) => Some(Mutex::new(File::create(path).map_err(|source| {
                MockServerError::AccessLog {
                    path: path.to_owned(),
                    source,
                }
            })?)),
            None => None,
        };
        Ok(AccessLog {
            records: Mutex::new(Vec::new()),
            file,
        })
    }

    pub fn snapshot(&self) -> Vec<AccessRecord> {
        lock(&self.records).clone()
    }

    /// Records are numbered from 1 in order, so the ones after `seq` are a suffix.
    pub fn after(&self, seq: u64) -> Vec<AccessRecord> {
        let records = lock(&self.records);
        let skip = usize::try_from(seq)
            .unwrap_or(usize::MAX)
            .min(records.len());
        records[skip..].to_vec()
    }

    /// Numbers and stores the record; the file gets it at once so a crashed run still leaves
    /// evidence behind.
    pub fn push(&self, mut record: AccessRecord) -> AccessRecord {
        let mut records = lock(&self.records);
        record.seq = records.len() as u64 + 1;
        records.push(record.clone());
        if let Some(file) = &self.file {
            let mut file = lock(file);
            let written = serde_json::to_string(&record)
                .map_err(std::io::Error::other)
                .and_then(|line| writeln!(file, "{line}"))
                .and_then(|()| file.flush());
            if let Err(error) = written {
                tracing::warn!(%error, "cannot write the access log file");
            }
        }
        record
    }
}

/// Put on a response (as an extension) whose connection the server closes without sending it;
/// the record then shows status 0.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionDropped;

/// Renders records one per line in a form that is stable across runs, for snapshots:
///
/// ```text
/// POST /oauth/token token grant=authorization_code client=<client-1> -> 200
/// POST / mcp initialize#0 bearer=at-1 proto=- session=<session-1> -> 200
/// POST / mcp tools/list#2 bearer=at-1 proto=2025-11-25 session=<session-1> -> 200
/// POST /oauth/token token grant=refresh_token client=<client-1> -> 400 error="invalid_grant"
/// ```
///
/// A request that arrived on a separate authorization-server origin shows its path as `as:/…`.
/// Times are dropped; session ids become `<session-N>` and client ids `<client-N>` by order of
/// first appearance; version numbers in user agents become `<ver>`; admin requests are left out.
/// MCP lines show the JSON-RPC method and id (`method#id` for a request, the bare method for a
/// notification, `(response)`, `(batch)`, `(invalid)` or `-` when the body had none), the bearer
/// token label (see [`Bearer::label`]), and the protocol-version and session headers; a GET shows
/// its `Accept`.
pub fn render_canonical(records: &[AccessRecord]) -> String {
    let mut sessions = Labeller::new("session");
    let mut clients = Labeller::new("client");
    let mut out = String::new();
    for r in records.iter().filter(|r| r.phase != Phase::Admin) {
        // `as:` marks the authorization server's own origin, when it has one.
        let origin = if r.on_authorization_server { "as:" } else { "" };
        let mut line = format!("{} {origin}{} {}", r.method, r.path, r.phase.as_str());
        match r.phase {
            Phase::Token => {
                line.push_str(&format!(
                    " grant={} client={}",
                    r.grant_type.as_deref().unwrap_or("-"),
                    clients.label(r.client_id.as_deref())
                ));
            }
            Phase::Registration | Phase::Authorization => {
                if r.client_id.is_some() {
                    line.push_str(&format!(
                        " client={}",
                        clients.label(r.client_id.as_deref())
                    ));
                }
            }
            Phase::Mcp => {
                line.push_str(&format!(
                    " {} bearer={} proto={} session={}",
                    rpc_label(r),
                    r.bearer.label(),
                    r.protocol_version.as_deref().unwrap_or("-"),
                    sessions.label(r.session_id.as_deref())
                ));
                if r.method == "GET" {
                    line.push_str(&format!(" accept={}", r.accept.as_deref().unwrap_or("-")));
                }
                if r.modern {
                    line.push_str(&format!(" {}", modern_label(r)));
                }
            }
            Phase::Discovery | Phase::Admin | Phase::Other => {}
        }
        line.push_str(&format!(" -> {}", r.status));
        if let Some(error) = &r.error {
            line.push_str(&format!(" error={error:?}"));
        }
        if let Some(fault) = &r.fault {
            line.push_str(&format!(" fault={fault:?}"));
        }
        if let Some(agent) = &r.user_agent {
            line.push_str(&format!(" ua={:?}", mask_versions(agent)));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// For a request handled under 2026-07-28 rules: what its `_meta` and `Mcp-Method` carried,
/// `meta=2026-07-28+caps mcp-method=tools/list` (`-` for absent).
pub fn modern_label(r: &AccessRecord) -> String {
    format!(
        "meta={}{} mcp-method={}",
        r.meta_protocol_version.as_deref().unwrap_or("-"),
        if r.meta_client_capabilities {
            "+caps"
        } else {
            ""
        },
        r.mcp_method_header.as_deref().unwrap_or("-")
    )
}

fn rpc_label(r: &AccessRecord) -> String {
    let id = r.rpc_id.as_ref().map(Value::to_string);
    match (r.rpc_kind.as_deref(), r.rpc_method.as_deref(), id) {
        (Some("request"), Some(method), Some(id)) => match &r.tool_name {
            Some(tool) => format!("{method}#{id}({tool})"),
            None => format!("{method}#{id}"),
        },
        (Some("notification"), Some(method), _) => method.to_owned(),
        (Some(kind), _, _) => format!("({kind})"),
        (None, Some(method), _) => method.to_owned(),
        (None, None, _) => "-".to_owned(),
    }
}

/// Maps opaque ids to `<kind-N>` by order of first appearance.
struct Labeller {
    kind: &'static str,
    seen: HashMap<String, usize>,
}

impl Labeller {
    fn new(kind: &'static str) -> Labeller {
        Labeller {
            kind,
            seen: HashMap::new(),
        }
    }

    fn label(&mut self, id: Option<&str>) -> String {
        let Some(id) = id else {
            return "-".to_owned();
        };
        let next = self.seen.len() + 1;
        let n = *self.seen.entry(id.to_owned()).or_insert(next);
        format!("<{}-{n}>", self.kind)
    }
}

/// `claude-code/2.1.331 (cli)` → `claude-code/<ver> (cli)`, `Bun/1.2.3` → `Bun/<ver>`: a run of
/// version characters is a version when it follows a `/` or contains a dot.
pub fn mask_versions(agent: &str) -> String {
    let chars: Vec<char> = agent.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts_run = c.is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric());
        if starts_run {
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_ascii_alphanumeric() || matches!(chars[j], '.' | '-' | '+'))
            {
                j += 1;
            }
            let run: String = chars[i..j].iter().collect();
            let after_slash = i > 0 && chars[i - 1] == '/';
            if after_slash || run.contains('.') {
                out.push_str("<ver>");
            } else {
                out.push_str(&run);
            }
            i = j;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(method: &str, path: &str) -> AccessRecord {
        AccessRecord {
            seq: 1,
            at_ms: 5,
            method: method.to_owned(),
            path: path.to_owned(),
            phase: Phase::of_path(path),
            rpc_method: None,
            rpc_id: None,
            rpc_kind: None,
            tool_name: None,
            grant_type: None,
            client_id: None,
            bearer: Bearer::None,
            session_id: None,
            protocol_version: None,
            accept: None,
            user_agent: None,
            status: 200,
            error: None,
            meta_protocol_version: None,
            meta_client_capabilities: false,
            mcp_method_header: None,
            modern: false,
            negotiated: None,
            on_authorization_server: false,
            resource: None,
            redirect_uri: None,
            fault: None,
            api_key: None,
        }
    }

    #[test]
    fn user_agent_versions_are_masked() {
        assert_eq!(
            mask_versions("claude-code/2.1.331 (cli)"),
            "claude-code/<ver> (cli)"
        );
        assert_eq!(mask_versions("Bun/1.2.3"), "Bun/<ver>");
        assert_eq!(mask_versions("node"), "node");
        assert_eq!(mask_versions("curl/8.5.0-DEV x64"), "curl/<ver> x64");
    }

    #[test]
    fn canonical_lines_map_sessions_and_clients_and_skip_admin() {
        let mut token = record("POST", "/oauth/token");
        token.grant_type = Some("authorization_code".to_owned());
        token.client_id = Some("abc".to_owned());
        let mut init = record("POST", "/");
        init.rpc_method = Some("initialize".to_owned());
        init.rpc_id = Some(Value::from(0));
        init.rpc_kind = Some("request".to_owned());
        init.bearer = Bearer::Valid {
            token_id: "at-1".to_owned(),
        };
        init.session_id = Some("f00".to_owned());
        init.user_agent = Some("claude-code/2.1.331 (cli)".to_owned());
        let admin = record("GET", "/__admin/access-log");
        let mut failed = record("POST", "/oauth/token");
        failed.status = 400;
        failed.error = Some("invalid_grant".to_owned());
        failed.client_id = Some("abc".to_owned());
        failed.grant_type = Some("refresh_token".to_owned());
        let text = render_canonical(&[token, init, admin, failed]);
        assert_eq!(
            text,
            "POST /oauth/token token grant=authorization_code client=<client-1> -> 200\n\
             POST / mcp initialize#0 bearer=at-1 proto=- session=<session-1> -> 200 ua=\"claude-code/<ver> (cli)\"\n\
             POST /oauth/token token grant=refresh_token client=<client-1> -> 400 error=\"invalid_grant\"\n"
        );
    }

    #[test]
    fn bearer_serialises_as_a_tagged_lowercase_object() -> anyhow::Result<()> {
        let json = serde_json::to_value(Bearer::WrongResource {
            token_id: "at-2".to_owned(),
        })?;
        assert_eq!(
            json,
            serde_json::json!({"status": "wrong_resource", "token_id": "at-2"})
        );
        assert_eq!(
            serde_json::to_value(Bearer::None)?,
            serde_json::json!({"status": "none"})
        );
        assert_eq!(serde_json::to_value(Phase::Mcp)?, serde_json::json!("mcp"));
        Ok(())
    }
}
