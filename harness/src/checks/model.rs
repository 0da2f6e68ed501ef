//! Checks on what reached the model: the other half of a reconnect. A client can re-list tools
//! with the server and still never offer them to the agent; the access log cannot show that.

use mock_server::model_api::{Expectation, ModelView, RequestKind, ScriptReport};
use mock_server::AccessRecord;

use crate::checks::{evidence_line, token_exchange, Check};

pub const TOOLS_OFFERED_TO_MODEL: &str = "tools-offered-to-model";
pub const PSEUDO_TOOLS_WITHDRAWN: &str = "pseudo-tools-withdrawn";
pub const TOOL_CALL_ROUNDTRIP: &str = "tool-call-roundtrip";

/// The MCP part of what one request offered: `mcp__*` names in `tools`, and deferred ones.
pub fn offer_summary(view: &ModelView) -> String {
    let mcp = |names: &[String]| {
        names
            .iter()
            .filter(|n| n.starts_with("mcp__"))
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut summary = format!(
        "model request #{}: tools [{}]; deferred [{}]",
        view.seq,
        mcp(&view.tools_offered),
        mcp(&view.deferred_tools)
    );
    if !view.withdrawn_tools.is_empty() {
        summary.push_str(&format!(
            "; announced as no longer available [{}]",
            mcp(&view.withdrawn_tools)
        ));
    }
    summary
}

fn expectations_check(
    name: &str,
    wanted: &str,
    report: &ScriptReport,
    views: &[ModelView],
    pass_summary: &str,
    fail_summary: &str,
) -> Check {
    let relevant: Vec<&Expectation> = report
        .expectations
        .iter()
        .filter(|e| e.wanted == wanted)
        .collect();
    let Some(first) = relevant.first() else {
        return Check::fail(
            name,
            "the scripted turn that checks this never started (the prompt did not reach the model)",
            vec![format!("{} model request(s) seen", views.len())],
        );
    };
    let mut evidence: Vec<String> = views
        .iter()
        .filter(|v| v.seq == first.request_seq)
        .map(offer_summary)
        .collect();
    let unmet: Vec<&str> = relevant
        .iter()
        .filter(|e| !e.met)
        .map(|e| e.tool.as_str())
        .collect();
    if unmet.is_empty() {
        let all: Vec<&str> = relevant.iter().map(|e| e.tool.as_str()).collect();
        evidence.push(format!("{wanted}: {}", all.join(", ")));
        Check::pass(name, pass_summary, evidence)
    } else {
        evidence.push(format!("not {wanted}: {}", unmet.join(", ")));
        Check::fail(name, fail_summary, evidence)
    }
}

/// Every tool the server listed reached the model (in `tools`, or deferred and loadable).
pub fn tools_offered_to_model(report: &ScriptReport, views: &[ModelView]) -> Check {
    expectations_check(
        TOOLS_OFFERED_TO_MODEL,
        "offered",
        report,
        views,
        "after authentication the model was offered every tool the server lists",
        "after authentication some of the server's tools never reached the model",
    )
}

/// The pre-authentication pseudo-tools are gone once the server is connected.
pub fn pseudo_tools_withdrawn(report: &ScriptReport, views: &[ModelView]) -> Check {
    expectations_check(
        PSEUDO_TOOLS_WITHDRAWN,
        "withdrawn",
        report,
        views,
        "after authentication the authenticate pseudo-tools were no longer offered",
        "after authentication the model was still offered the authenticate pseudo-tools",
    )
}

/// The agent called the server's tool: the server saw an authenticated `tools/call` for it after
/// the token exchange, and its (non-error) result came back to the model.
pub fn tool_call_roundtrip(
    log: &[AccessRecord],
    views: &[ModelView],
    agent_tool_name: &str,
    server_tool_name: &str,
) -> Check {
    let after_token = token_exchange(log).map(|t| t.seq).unwrap_or(u64::MAX);
    tool_call_roundtrip_after(log, views, agent_tool_name, server_tool_name, after_token)
}

/// [`tool_call_roundtrip`] for a call after access-log record `after` (an injected event).
pub fn tool_call_roundtrip_after(
    log: &[AccessRecord],
    views: &[ModelView],
    agent_tool_name: &str,
    server_tool_name: &str,
    after_token: u64,
) -> Check {
    let call = log.iter().find(|r| {
        r.seq > after_token
            && r.rpc_method.as_deref() == Some("tools/call")
            && r.tool_name.as_deref() == Some(server_tool_name)
            && crate::checks::is_authenticated(r)
            && r.status == 200
    });
    let result = views
        .iter()
        .filter(|v| v.kind == RequestKind::MainToolResults)
        .flat_map(|v| v.tool_results.iter().map(move |r| (v.seq, r)))
        .find(|(_, r)| r.tool_name.as_deref() == Some(agent_tool_name));
    let result_line = result.map(|(seq, r)| {
        format!(
            "model request #{seq}: result of {agent_tool_name} (is_error {}): {}",
            r.is_error,
            r.text.lines().next().unwrap_or_default()
        )
    });
    match (call, result) {
        (Some(call), Some((_, r))) if !r.is_error => Check::pass(
            TOOL_CALL_ROUNDTRIP,
            format!("the agent called {agent_tool_name}; the server ran it and the result reached the model"),
            vec![evidence_line(call)].into_iter().chain(result_line).collect(),
        ),
        (call, _) => Check::fail(
            TOOL_CALL_ROUNDTRIP,
            format!("no authenticated {server_tool_name} call whose result reached the model"),
            call.map(evidence_line)
                .into_iter()
                .chain(result_line)
                .chain(std::iter::once(format!(
                    "server saw {} tools/call after the token",
                    log.iter()
                        .filter(|r| r.seq > after_token
                            && r.rpc_method.as_deref() == Some("tools/call"))
                        .count()
                )))
                .collect(),
        ),
    }
}

/// The model's view for snapshots: main requests only (side requests vary in number), MCP names
/// only (the built-in tool set changes every release), URLs and ids redacted.
pub fn canonical_model_view(views: &[ModelView]) -> String {
    let mut out = String::new();
    for (n, v) in views
        .iter()
        .filter(|v| v.kind != RequestKind::Side)
        .enumerate()
    {
        let mcp = |names: &[String]| {
            names
                .iter()
                .filter(|t| t.starts_with("mcp__") || *t == "ToolSearch")
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!("request {} ({:?})\n", n + 1, v.kind));
        if let Some(prompt) = &v.user_prompt {
            out.push_str(&format!("  prompt: {}\n", redact(prompt)));
        }
        out.push_str(&format!("  tools: [{}]\n", mcp(&v.tools_offered)));
        out.push_str(&format!("  deferred: [{}]\n", mcp(&v.deferred_tools)));
        if !v.withdrawn_tools.is_empty() {
            out.push_str(&format!("  withdrawn: [{}]\n", mcp(&v.withdrawn_tools)));
        }
        for r in &v.tool_results {
            out.push_str(&format!(
                "  result of {} (error: {}): {}\n",
                r.tool_name.as_deref().unwrap_or("?"),
                r.is_error,
                redact(r.text.lines().find(|l| !l.trim().is_empty()).unwrap_or(""))
            ));
        }
        out.push_str(&format!("  answer: {}\n", redact(&v.answer)));
    }
    out
}

/// URLs carry ports, client ids, PKCE values and state: replace each with `<url>`.
fn redact(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    loop {
        let next = [rest.find("http://"), rest.find("https://")]
            .into_iter()
            .flatten()
            .min();
        let Some(start) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..start]);
        out.push_str("<url>");
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>' | '`'))
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_but_the_words_around_them_stay() {
        assert_eq!(
            redact("open http://127.0.0.1:5/x?a=b now"),
            "open <url> now"
        );
        assert_eq!(
            redact("{\"callback_url\":\"http://localhost:9/cb\"}"),
            "{\"callback_url\":\"<url>\"}"
        );
    }

    #[test]
    fn no_started_turn_fails_instead_of_passing_silently() {
        let check = tools_offered_to_model(&ScriptReport::default(), &[]);
        assert_eq!(check.verdict, crate::checks::Verdict::Fail);
    }
}
