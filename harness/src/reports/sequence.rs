//! The access log (and the model's views) as an SVG sequence diagram with four lanes: the client,
//! the authorization server, the MCP server and the model API.
//!
//! The mock server's records carry its clock; the model stand-in's views carry only their order.
//! A model turn is drawn after the MCP `tools/call` whose result it carries, and a turn that offers
//! the server's tools after the server first listed them (an authenticated `tools/list`);
//! otherwise right after the model turn before it: its place relative to the MCP traffic is an
//! inference, and the page says so.

use mock_server::model_api::{ModelView, RequestKind};
use mock_server::{AccessRecord, Phase};

use super::escape;

pub const LANES: [&str; 4] = ["client", "authorization server", "MCP server", "model API"];

const LANE_X: [u32; 4] = [130, 360, 590, 820];
const ROW: u32 = 24;
const TOP: u32 = 44;
const WIDTH: u32 = 980;
/// Longer logs are cut (the JSON keeps them whole).
pub const MAX_ROWS: usize = 300;

/// One arrow.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrow {
    pub lane: usize,
    pub label: String,
    pub reply: String,
    pub error: bool,
    pub at: String,
}

fn lane_of(r: &AccessRecord) -> usize {
    match r.phase {
        Phase::Mcp => 2,
        // The protected-resource metadata is the MCP server's document.
        Phase::Discovery if r.path.contains("oauth-protected-resource") => 2,
        _ => 1,
    }
}

fn record_arrow(r: &AccessRecord, start: u64) -> Arrow {
    let mut label = format!("{} {}", r.method, r.path);
    if let Some(m) = &r.rpc_method {
        label = format!("{} {m}", r.method);
    }
    if let Some(t) = &r.tool_name {
        label.push_str(&format!(" ({t})"));
    }
    if let Some(g) = &r.grant_type {
        label.push_str(&format!(" grant={g}"));
    }
    let mut reply = r.status.to_string();
    if let Some(e) = &r.error {
        reply.push(' ');
        reply.push_str(e);
    }
    Arrow {
        lane: lane_of(r),
        label,
        reply,
        error: r.status >= 400,
        at: format!("{:.2}s", r.at_ms.saturating_sub(start) as f64 / 1000.0),
    }
}

fn model_arrow(v: &ModelView, turn: usize) -> Arrow {
    let kind = match v.kind {
        RequestKind::MainUserPrompt => "prompt",
        RequestKind::MainToolResults => "tool results",
        RequestKind::Side => "side request",
    };
    let mut label = format!(
        "turn {turn}: {kind}, {} tools offered",
        v.tools_offered.len()
    );
    if !v.needs_auth_lines.is_empty() {
        label.push_str(", told: needs auth");
    }
    let errors = v.tool_results.iter().filter(|t| t.is_error).count();
    if errors > 0 {
        label.push_str(&format!(", {errors} tool error(s)"));
    }
    let mut reply: String = v.answer.chars().take(48).collect();
    if v.answer.chars().count() > 48 {
        reply.push('…');
    }
    Arrow {
        lane: 3,
        label,
        reply,
        error: errors > 0,
        at: format!("#{}", v.seq),
    }
}

/// The arrows in drawing order: the access log as it arrived (admin requests left out), the
/// model's turns placed as the module comment says.
pub fn arrows(log: &[AccessRecord], views: &[ModelView]) -> Vec<Arrow> {
    let records: Vec<&AccessRecord> = log.iter().filter(|r| r.phase != Phase::Admin).collect();
    let start = records.first().map(|r| r.at_ms).unwrap_or(0);
    // For each model turn, the index of the record it must follow (None: before all).
    let mut after: Vec<Option<usize>> = Vec::new();
    let mut floor: Option<usize> = None;
    for v in views {
        let anchor = v
            .tool_results
            .iter()
            .filter_map(|t| t.tool_name.as_deref())
            .filter_map(|name| {
                records.iter().enumerate().rposition(|(_, r)| {
                    r.rpc_method.as_deref() == Some("tools/call")
                        && r.tool_name
                            .as_deref()
                            .is_some_and(|t| name == t || name.ends_with(&format!("__{t}")))
                })
            })
            .max();
        // A turn offering the server's own tools comes after the server first listed them.
        let listed = v
            .tools_offered
            .iter()
            .any(|t| {
                t.starts_with("mcp__")
                    && !t.ends_with("authenticate")
                    && !t.ends_with("complete_authentication")
            })
            .then(|| {
                records.iter().position(|r| {
                    r.rpc_method.as_deref() == Some("tools/list")
                        && r.status == 200
                        && matches!(r.bearer, mock_server::Bearer::Valid { .. })
                })
            })
            .flatten();
        let anchor = anchor.max(listed);
        floor = match (floor, anchor) {
            (Some(f), Some(a)) => Some(f.max(a)),
            (f, a) => f.or(a),
        };
        after.push(floor);
    }
    let mut out = Vec::new();
    let mut turn = 0;
    let place = |out: &mut Vec<Arrow>, turn: &mut usize, slot: Option<usize>| {
        for (i, v) in views.iter().enumerate() {
            if after[i] == slot {
                *turn += 1;
                out.push(model_arrow(v, *turn));
            }
        }
    };
    place(&mut out, &mut turn, None);
    for (i, r) in records.iter().enumerate() {
        out.push(record_arrow(r, start));
        place(&mut out, &mut turn, Some(i));
    }
    out
}

/// The SVG element (inline in the HTML page).
pub fn render(log: &[AccessRecord], views: &[ModelView]) -> String {
    let mut arrows = arrows(log, views);
    let cut = arrows.len().saturating_sub(MAX_ROWS);
    arrows.truncate(MAX_ROWS);
    let height = TOP + (arrows.len() as u32 + 1) * ROW + 10;
    let mut svg = format!(
        "<svg class=\"seq\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"sequence diagram\">\n<defs><marker id=\"arr\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#333\"/></marker></defs>\n"
    );
    for (i, name) in LANES.iter().enumerate() {
        let x = LANE_X[i];
        svg.push_str(&format!(
            "<rect x=\"{}\" y=\"6\" width=\"150\" height=\"24\" rx=\"4\" class=\"lane\"/><text x=\"{x}\" y=\"23\" text-anchor=\"middle\" class=\"lanename\">{}</text>\n<line x1=\"{x}\" y1=\"30\" x2=\"{x}\" y2=\"{}\" class=\"life\"/>\n",
            x - 75,
            escape(name),
            height - 4
        ));
    }
    for (i, a) in arrows.iter().enumerate() {
        let y = TOP + i as u32 * ROW + ROW / 2;
        let (x1, x2) = (LANE_X[0], LANE_X[a.lane]);
        let class = if a.error { "msg err" } else { "msg" };
        svg.push_str(&format!(
            "<g class=\"{class}\"><title>{}</title><text x=\"4\" y=\"{}\" class=\"at\">{}</text><line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" marker-end=\"url(#arr)\"/><text x=\"{}\" y=\"{}\" class=\"label\">{}</text><text x=\"{}\" y=\"{}\" class=\"reply\">{}</text></g>\n",
            escape(&format!("{} → {}", a.label, a.reply)),
            y + 4,
            escape(&a.at),
            x1 + 8,
            y - 3,
            escape(&a.label),
            x2 + 6,
            y + 4,
            escape(&a.reply),
        ));
    }
    if cut > 0 {
        svg.push_str(&format!(
            "<text x=\"8\" y=\"{}\" class=\"label\">… {cut} more (see the JSON)</text>\n",
            height - 8
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn rec(
        seq: u64,
        method: &str,
        path: &str,
        rpc: Option<&str>,
        tool: Option<&str>,
        status: u16,
    ) -> AccessRecord {
        let mut v = serde_json::json!({
            "seq": seq, "at_ms": seq * 100, "method": method, "path": path,
            "phase": if path == "/" { "mcp" } else if path.starts_with("/.well-known") { "discovery" } else { "token" },
            "rpc_method": rpc, "rpc_id": null, "rpc_kind": null, "grant_type": null, "client_id": null,
            "bearer": {"status": "none"}, "session_id": null, "protocol_version": null, "accept": null,
            "user_agent": null, "status": status, "error": null
        });
        if let Some(t) = tool {
            v["tool_name"] = serde_json::json!(t);
        }
        serde_json::from_value(v).expect("an access record")
    }

    fn view(seq: u64, tool_result: Option<&str>) -> ModelView {
        serde_json::from_value(serde_json::json!({
            "seq": seq, "model": null, "kind": if tool_result.is_some() { "main-tool-results" } else { "main-user-prompt" },
            "tools_offered": if tool_result.is_some() { vec!["mcp__mock__echo"] } else { vec!["Bash"] }, "deferred_tools": [], "needs_auth_lines": [],
            "tool_results": tool_result.map(|t| vec![serde_json::json!({"tool_use_id": "t1", "tool_name": t, "is_error": false, "text": "ok"})]).unwrap_or_default(),
            "user_prompt": null, "answer": "done"
        }))
        .expect("a model view")
    }

    pub(crate) fn sample() -> (Vec<AccessRecord>, Vec<ModelView>) {
        (
            vec![
                rec(1, "POST", "/", Some("initialize"), None, 401),
                rec(
                    2,
                    "GET",
                    "/.well-known/oauth-protected-resource",
                    None,
                    None,
                    200,
                ),
                rec(3, "POST", "/token", None, None, 200),
                rec(4, "POST", "/", Some("tools/call"), Some("echo"), 200),
                rec(5, "POST", "/", Some("tools/list"), None, 200),
            ],
            vec![view(1, None), view(2, Some("mcp__mock__echo"))],
        )
    }

    #[test]
    fn lanes_and_model_turns_are_placed() {
        let (log, views) = sample();
        let a = arrows(&log, &views);
        let lanes: Vec<usize> = a.iter().map(|a| a.lane).collect();
        // The first turn has no anchor: first; the second follows the tools/call it carries.
        assert_eq!(lanes, vec![3, 2, 2, 1, 2, 3, 2]);
        assert!(a[1].error && a[1].reply == "401");
        assert_eq!(a[5].label, "turn 2: tool results, 1 tools offered");
        let svg = render(&log, &views);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<line").count(), 4 + 7);
        assert!(svg.contains("POST tools/call (echo)"));
    }

    #[test]
    fn a_turn_offering_the_servers_tools_follows_the_authenticated_listing() {
        let (mut log, views) = sample();
        log[4].bearer = mock_server::Bearer::Valid {
            token_id: "at-1".to_owned(),
        };
        let lanes: Vec<usize> = arrows(&log, &views).iter().map(|a| a.lane).collect();
        assert_eq!(lanes, vec![3, 2, 2, 1, 2, 2, 3]);
    }
}
