//! The model's view of one Messages API request: what the agent is offered and what it is told.
//!
//! The access log shows what a client did with the MCP server; this shows what reached the model.
//! A client can re-list tools and still never offer them, so both are recorded.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The heading under which versions that defer tools list them in the system text (2.1.331:
/// "The following deferred tools are now available via ToolSearch"). Matched loosely.
const DEFERRED_MARKERS: &[&str] = &["deferred tools", "available via toolsearch"];
/// A deferred-tools heading that takes names away.
const WITHDRAWN_MARKERS: &[&str] = &["no longer available"];
/// Phrases the system text uses for servers that need authentication.
const NEEDS_AUTH_MARKERS: &[&str] = &[
    "need authentication",
    "needs authentication",
    "require authentication",
    "requires authentication",
    "needs sign-in",
    "not authenticated",
];

/// Which kind of request this is, as far as the script is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestKind {
    /// The agent's own turn: tools are offered and the conversation ends with the user's prompt.
    MainUserPrompt,
    /// The agent's turn continuing after tool results.
    MainToolResults,
    /// Anything else the client asks the model (titles, suggestions, summaries, probes).
    Side,
}

/// A tool result the model received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolResultSeen {
    pub tool_use_id: String,
    /// The tool's name, from the assistant's `tool_use` block with the same id.
    pub tool_name: Option<String>,
    pub is_error: bool,
    /// The result's text (text blocks joined; a `tool_reference` shows as `tool_reference:<name>`).
    pub text: String,
}

/// What one request showed the model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelView {
    pub seq: u64,
    pub model: Option<String>,
    pub kind: RequestKind,
    /// Names in the request's `tools` array, in order.
    pub tools_offered: Vec<String>,
    /// Tool names listed in the system text as deferred (loadable through `ToolSearch`).
    pub deferred_tools: Vec<String>,
    /// Tool names the system text announced as no longer available.
    #[serde(default)]
    pub withdrawn_tools: Vec<String>,
    /// Lines of the system text that speak of servers needing authentication.
    pub needs_auth_lines: Vec<String>,
    /// The tool results in the request's last user message.
    pub tool_results: Vec<ToolResultSeen>,
    /// The last user prompt's text, when the request ends with one.
    pub user_prompt: Option<String>,
    /// What the stand-in answered (filled in by the server).
    pub answer: String,
}

impl ModelView {
    /// Reads a request body. Never fails: a body it cannot read is a side request with no tools.
    pub fn of(seq: u64, body: &Value) -> ModelView {
        let tools_offered: Vec<String> = body
            .get("tools")
            .and_then(Value::as_array)
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let system = system_text(body);
        let messages: Vec<&Value> = body
            .get("messages")
            .and_then(Value::as_array)
            .map(|m| m.iter().collect())
            .unwrap_or_default();
        let tool_names = tool_use_names(&messages);
        let (deferred_tools, withdrawn_tools) = deferred_tools(&system);
        // Versions that put `role: "system"` entries among the messages are judged by the last
        // user or assistant message.
        let last = messages.iter().rev().find(|m| {
            matches!(
                m.get("role").and_then(Value::as_str),
                Some("user") | Some("assistant")
            )
        });
        let (tool_results, user_prompt) = match last {
            Some(m) if m.get("role").and_then(Value::as_str) == Some("user") => {
                read_user_message(m, &tool_names)
            }
            _ => (Vec::new(), None),
        };
        let kind = if tools_offered.is_empty() {
            RequestKind::Side
        } else if !tool_results.is_empty() {
            RequestKind::MainToolResults
        } else if user_prompt.is_some() {
            RequestKind::MainUserPrompt
        } else {
            RequestKind::Side
        };
        ModelView {
            seq,
            model: body.get("model").and_then(Value::as_str).map(str::to_owned),
            kind,
            tools_offered,
            deferred_tools,
            withdrawn_tools,
            needs_auth_lines: needs_auth_lines(&system),
            tool_results,
            user_prompt,
            answer: String::new(),
        }
    }

    /// Whether the agent could use `tool` now (in `tools`) or after loading it (deferred). A
    /// schema still in `tools` from an earlier load does not count once the client has told the
    /// model the tool is no longer available.
    pub fn can_reach(&self, tool: &str) -> bool {
        let announced_gone = self.withdrawn_tools.iter().any(|t| t == tool);
        (self.tools_offered.iter().any(|t| t == tool) && !announced_gone)
            || self.deferred_tools.iter().any(|t| t == tool)
    }
}

/// All system text: the top-level `system` (a string or text blocks) and any `role: "system"`
/// messages, and system reminders inside user messages.
pub fn system_text(body: &Value) -> String {
    let mut out = String::new();
    if let Some(system) = body.get("system") {
        push_text(&mut out, system);
    }
    for m in body
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match m.get("role").and_then(Value::as_str) {
            Some("system") => push_text(&mut out, m.get("content").unwrap_or(&Value::Null)),
            Some("user") => {
                // Clients also slip reminders into user turns; only those count as system text.
                let mut text = String::new();
                push_text(&mut text, m.get("content").unwrap_or(&Value::Null));
                if text.contains("<system-reminder>") {
                    out.push_str(&text);
                    out.push('\n');
                }
            }
            _ => {}
        }
    }
    out
}

fn push_text(out: &mut String, content: &Value) {
    match content {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(blocks) => {
            for b in blocks {
                if let Some(t) = b.get("text").and_then(Value::as_str) {
                    out.push_str(t);
                    out.push('\n');
                }
            }
        }
        _ => {}
    }
}

/// tool_use id → tool name, from every assistant message.
fn tool_use_names(messages: &[&Value]) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for m in messages {
        if m.get("role").and_then(Value::as_str) != Some("assistant") {
            continue;
        }
        for b in m
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if b.get("type").and_then(Value::as_str) == Some("tool_use") {
                if let (Some(id), Some(name)) = (
                    b.get("id").and_then(Value::as_str),
                    b.get("name").and_then(Value::as_str),
                ) {
                    names.insert(id.to_owned(), name.to_owned());
                }
            }
        }
    }
    names
}

fn read_user_message(
    message: &Value,
    tool_names: &BTreeMap<String, String>,
) -> (Vec<ToolResultSeen>, Option<String>) {
    let content = message.get("content").unwrap_or(&Value::Null);
    if let Some(text) = content.as_str() {
        return (Vec::new(), Some(text.to_owned()));
    }
    let mut results = Vec::new();
    let mut prompt = Vec::new();
    for b in content.as_array().into_iter().flatten() {
        match b.get("type").and_then(Value::as_str) {
            Some("tool_result") => {
                let id = b
                    .get("tool_use_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                results.push(ToolResultSeen {
                    tool_name: tool_names.get(&id).cloned(),
                    tool_use_id: id,
                    is_error: b.get("is_error").and_then(Value::as_bool).unwrap_or(false),
                    text: tool_result_text(b.get("content").unwrap_or(&Value::Null)),
                });
            }
            Some("text") => {
                let text = b.get("text").and_then(Value::as_str).unwrap_or_default();
                // Reminders the client adds are not what the user typed.
                if !text.trim_start().starts_with("<system-reminder>") {
                    prompt.push(text.to_owned());
                }
            }
            _ => {}
        }
    }
    let prompt = (!prompt.is_empty()).then(|| prompt.join("\n"));
    (results, prompt)
}

fn tool_result_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .map(|b| match b.get("type").and_then(Value::as_str) {
                Some("text") => b
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                Some("tool_reference") => format!(
                    "tool_reference:{}",
                    b.get("tool_name")
                        .or_else(|| b.get("name"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                ),
                Some(other) => format!("[{other}]"),
                None => String::new(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The deferred tools the system text leaves available, and those it withdrew, reading its
/// announcements in order: 2.1.331 says "The following deferred tools are now available via
/// ToolSearch" and later "The following deferred tools are no longer available", each heading
/// followed by one name per line.
fn deferred_tools(system: &str) -> (Vec<String>, Vec<String>) {
    let mut available: Vec<String> = Vec::new();
    let mut withdrawn: Vec<String> = Vec::new();
    let mut lines = system.lines().peekable();
    while let Some(line) = lines.next() {
        let lower = line.to_lowercase();
        if !DEFERRED_MARKERS.iter().any(|m| lower.contains(m)) {
            continue;
        }
        let removal = WITHDRAWN_MARKERS.iter().any(|m| lower.contains(m));
        let mut names: Vec<String> = Vec::new();
        while let Some(next) = lines.peek() {
            match tool_name(next) {
                Some(name) => {
                    names.push(name);
                    lines.next();
                }
                None => break,
            }
        }
        for name in names {
            if removal {
                available.retain(|n| n != &name);
                if !withdrawn.contains(&name) {
                    withdrawn.push(name);
                }
            } else {
                withdrawn.retain(|n| n != &name);
                if !available.contains(&name) {
                    available.push(name);
                }
            }
        }
    }
    available.sort();
    withdrawn.sort();
    (available, withdrawn)
}

/// A bare tool name, possibly as a list item (`- name`) or in backticks.
fn tool_name(text: &str) -> Option<String> {
    let t = text
        .trim()
        .trim_start_matches(['-', '*', '•'])
        .trim()
        .trim_matches('`');
    let ok = !t.is_empty()
        && t.len() <= 128
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    ok.then(|| t.to_owned())
}

fn needs_auth_lines(system: &str) -> Vec<String> {
    system
        .lines()
        .filter(|l| {
            let lower = l.to_lowercase();
            NEEDS_AUTH_MARKERS.iter().any(|m| lower.contains(m))
        })
        .map(|l| l.trim().to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deferred_tools_are_read_from_the_system_messages() {
        let body = json!({
            "model": "m",
            "tools": [{"name": "Bash"}, {"name": "ToolSearch"}],
            "messages": [
                {"role": "system", "content": "The following deferred tools are now available via ToolSearch:\nmcp__mock__authenticate\nmcp__mock__complete_authentication\n\nOther text"},
                {"role": "user", "content": [{"type": "text", "text": "hi"}]}
            ]
        });
        let view = ModelView::of(1, &body);
        assert_eq!(view.kind, RequestKind::MainUserPrompt);
        assert_eq!(
            view.deferred_tools,
            vec![
                "mcp__mock__authenticate".to_owned(),
                "mcp__mock__complete_authentication".to_owned()
            ]
        );
        assert!(view.can_reach("mcp__mock__authenticate"));
        assert!(!view.can_reach("mcp__mock__hello"));
        assert_eq!(view.user_prompt.as_deref(), Some("hi"));
    }

    #[test]
    fn a_later_announcement_withdraws_deferred_tools_even_if_once_loaded() {
        let body = json!({
            "tools": [{"name": "ToolSearch"}, {"name": "mcp__mock__authenticate"}],
            "messages": [
                {"role": "system", "content": "The following deferred tools are now available via ToolSearch:\nmcp__mock__authenticate\nmcp__mock__complete_authentication"},
                {"role": "user", "content": "go"},
                {"role": "system", "content": "The following deferred tools are now available via ToolSearch:\nmcp__mock__hello\n\nThe following deferred tools are no longer available. Do not search for them:\nmcp__mock__authenticate\nmcp__mock__complete_authentication\n"}
            ]
        });
        let view = ModelView::of(1, &body);
        assert_eq!(view.deferred_tools, vec!["mcp__mock__hello".to_owned()]);
        assert!(view.can_reach("mcp__mock__hello"));
        assert!(!view.can_reach("mcp__mock__authenticate"));
        assert!(!view.can_reach("mcp__mock__complete_authentication"));
        // Without the announcement, a loaded schema still counts as offered.
        let mut silent = view.clone();
        silent.withdrawn_tools.clear();
        assert!(silent.can_reach("mcp__mock__authenticate"));
    }

    #[test]
    fn tool_results_are_named_from_the_matching_tool_use() {
        let body = json!({
            "tools": [{"name": "ToolSearch"}],
            "messages": [
                {"role": "user", "content": "connect"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "ToolSearch", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "tool_reference", "tool_name": "mcp__mock__hello"}]}]}
            ]
        });
        let view = ModelView::of(2, &body);
        assert_eq!(view.kind, RequestKind::MainToolResults);
        assert_eq!(view.tool_results.len(), 1);
        assert_eq!(
            view.tool_results[0].tool_name.as_deref(),
            Some("ToolSearch")
        );
        assert_eq!(view.tool_results[0].text, "tool_reference:mcp__mock__hello");
    }

    #[test]
    fn a_request_without_tools_is_a_side_request() {
        let body = json!({"messages": [{"role": "user", "content": "write a title"}]});
        assert_eq!(ModelView::of(3, &body).kind, RequestKind::Side);
        assert_eq!(
            ModelView::of(4, &json!("not an object")).kind,
            RequestKind::Side
        );
    }

    #[test]
    fn reminders_in_user_turns_count_as_system_text_not_as_the_prompt() {
        let body = json!({
            "tools": [{"name": "Bash"}],
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>The MCP server mock needs authentication.</system-reminder>"},
                {"type": "text", "text": "use the tools"}
            ]}]
        });
        let view = ModelView::of(5, &body);
        assert_eq!(view.user_prompt.as_deref(), Some("use the tools"));
        assert_eq!(view.needs_auth_lines.len(), 1);
    }
}
