//! One name per tool, whichever client offered it.
//!
//! Each client names an MCP server's tools its own way on the wire:
//!
//! | client (wire API) | tool `hello` of server `mock` on the wire |
//! |---|---|
//! | Claude Code (Messages) | `mcp__mock__hello` |
//! | Codex CLI (Responses) | `hello` inside the tool `{"type":"namespace","name":"mcp__mock",…}`; the call must come back as `{"name":"hello","namespace":"mcp__mock"}` (a call named `mcp__mock__hello` is refused as "unsupported call", measured with 0.171.0) |
//! | Gemini CLI (Gemini) | `mcp_mock_hello`: `mcp_` + server + `_` + tool, characters outside `[A-Za-z0-9_.:-]` replaced by `_`, names over 63 characters cut to 30 + `...` + 30; a name registered twice is overwritten by the later tool |
//! | opencode, Kilo (Chat Completions) | `mock_hello` |
//!
//! The view lists every offered tool under its canonical name, Claude Code's `mcp__<server>__<tool>`,
//! and keeps the wire name beside it ([`WireName`]), so a script says `mcp__mock__hello` for every
//! client and the call goes back under the name that client expects. The rules, in order:
//!
//! 1. Messages: the wire name is the canonical name.
//! 2. A tool inside a namespace: `<namespace>__<tool>` (Codex's `mcp__mock` + `hello` gives
//!    `mcp__mock__hello`; its non-MCP namespaces, like `multi_agent_v1`, read the same way).
//! 3. A name that already starts with `mcp__` stays.
//! 4. A server the script names (any `mcp__<server>__…` in its turns, or
//!    [`ModelScript::mcp_server`](super::ModelScript::mcp_server)), longest first: `mcp_<server>_<tool>`,
//!    `<server>__<tool>`, `<server>_<tool>`, `<server>-<tool>` or `<server>.<tool>` gives
//!    `mcp__<server>__<tool>` (the server compared as Gemini CLI sanitizes it too).
//! 5. Gemini only: `mcp_<server>_<tool>` split where Gemini CLI splits it, at the first `_` after
//!    `mcp_`.
//! 6. Anything else (built-in tools: `exec_command`, `read_file`, `bash`) keeps its wire name.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::view::WireApi;

/// A tool as the request declared it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WireTool {
    pub name: String,
    /// The Responses API namespace the tool was declared in.
    pub namespace: Option<String>,
}

impl WireTool {
    pub fn plain(name: impl Into<String>) -> WireTool {
        WireTool {
            name: name.into(),
            namespace: None,
        }
    }

    /// How [`ModelRequest::tool_names`](super::ModelRequest::tool_names) writes it:
    /// `<namespace>/<name>` inside a namespace.
    pub fn qualified(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// An offered tool whose wire name differs from its canonical name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireName {
    /// The name in [`ModelView::tools_offered`](super::ModelView::tools_offered).
    pub canonical: String,
    /// The name the client declared and expects in a call.
    pub name: String,
    /// The Responses API namespace it was declared in (Codex: `mcp__<server>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The server of a canonical MCP tool name: `mock` for `mcp__mock__hello`.
pub(crate) fn server_of(canonical: &str) -> Option<&str> {
    let rest = canonical.strip_prefix("mcp__")?;
    let (server, tool) = rest.split_once("__")?;
    (!server.is_empty() && !tool.is_empty()).then_some(server)
}

/// A name as Gemini CLI makes it valid for the API (without its `mcp_` prefix and length cut).
fn gemini_sanitized(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The canonical name of `tool` offered on `api`, with `servers` the MCP servers the script names.
pub(crate) fn canonical(api: WireApi, tool: &WireTool, servers: &BTreeSet<String>) -> String {
    if api == WireApi::AnthropicMessages {
        return tool.name.clone();
    }
    if let Some(ns) = &tool.namespace {
        return format!("{ns}__{}", tool.name);
    }
    let name = tool.name.as_str();
    if name.starts_with("mcp__") {
        return name.to_owned();
    }
    let mut by_length: Vec<&String> = servers.iter().collect();
    by_length.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for server in by_length {
        for form in [server.clone(), gemini_sanitized(server)] {
            let rest = name
                .strip_prefix("mcp_")
                .and_then(|r| r.strip_prefix(form.as_str()))
                .and_then(|r| r.strip_prefix('_'))
                .or_else(|| {
                    let r = name.strip_prefix(form.as_str())?;
                    ["__", "_", "-", "."]
                        .iter()
                        .find_map(|sep| r.strip_prefix(sep))
                });
            if let Some(tool) = rest.filter(|t| !t.is_empty()) {
                return format!("mcp__{server}__{tool}");
            }
        }
    }
    if api == WireApi::Gemini {
        if let Some((server, tool)) = name.strip_prefix("mcp_").and_then(|r| r.split_once('_')) {
            if !server.is_empty() && !tool.is_empty() {
                return format!("mcp__{server}__{tool}");
            }
        }
    }
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn each_client_s_name_for_mock_hello_reads_as_one_canonical_name() {
        let known = servers(&["mock"]);
        let none = servers(&[]);
        let namespaced = WireTool {
            name: "hello".to_owned(),
            namespace: Some("mcp__mock".to_owned()),
        };
        assert_eq!(
            canonical(WireApi::OpenAiResponses, &namespaced, &none),
            "mcp__mock__hello"
        );
        for api in [
            WireApi::OpenAiChat,
            WireApi::Gemini,
            WireApi::OpenAiResponses,
        ] {
            for wire in [
                "mcp_mock_hello",
                "mock_hello",
                "mock__hello",
                "mock-hello",
                "mock.hello",
            ] {
                assert_eq!(
                    canonical(api, &WireTool::plain(wire), &known),
                    "mcp__mock__hello",
                    "{wire} on {api:?}"
                );
            }
        }
        // Without knowing the server, only Gemini's own convention can be split.
        assert_eq!(
            canonical(WireApi::Gemini, &WireTool::plain("mcp_mock_hello"), &none),
            "mcp__mock__hello"
        );
        assert_eq!(
            canonical(WireApi::OpenAiChat, &WireTool::plain("mock_hello"), &none),
            "mock_hello"
        );
    }

    #[test]
    fn messages_names_and_built_in_tools_are_kept() {
        let known = servers(&["mock"]);
        for api in [
            WireApi::AnthropicMessages,
            WireApi::OpenAiChat,
            WireApi::Gemini,
        ] {
            assert_eq!(canonical(api, &WireTool::plain("bash"), &known), "bash");
            assert_eq!(
                canonical(api, &WireTool::plain("mcp__mock__hello"), &known),
                "mcp__mock__hello"
            );
        }
        // Messages names are never rewritten, even when they look like another client's.
        assert_eq!(
            canonical(
                WireApi::AnthropicMessages,
                &WireTool::plain("mock_hello"),
                &known
            ),
            "mock_hello"
        );
    }

    #[test]
    fn the_longest_known_server_wins_and_sanitized_servers_match() {
        let known = servers(&["my", "my_server", "a b"]);
        assert_eq!(
            canonical(
                WireApi::Gemini,
                &WireTool::plain("mcp_my_server_do_it"),
                &known
            ),
            "mcp__my_server__do_it"
        );
        assert_eq!(
            canonical(WireApi::Gemini, &WireTool::plain("mcp_a_b_go"), &known),
            "mcp__a b__go"
        );
    }

    #[test]
    fn the_server_of_a_canonical_name() {
        assert_eq!(server_of("mcp__mock__hello"), Some("mock"));
        assert_eq!(server_of("mcp__mock"), None);
        assert_eq!(server_of("Bash"), None);
    }
}
