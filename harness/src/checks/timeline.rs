//! The access log in two forms: a canonical one for snapshots, stable across runs, and a
//! server-side timeline for people.
//!
//! Clients send some requests concurrently, so their arrival order is a race: metadata documents
//! fetched in parallel, the SSE `GET` racing `tools/list` right after `initialize`, and, before a
//! token, a client's connection attempt racing its own authentication probe (Codex 0.171.0's
//! `POST initialize` and `GET` both meet the 401, each followed by discovery: 1 in 60 soak rounds
//! arrived interleaved). The canonical form puts each such group in a fixed order; everything else
//! keeps arrival order, because that order is what the checks are about.
//!
//! It also leaves out session `DELETE`s: whether a client's closing `DELETE` leaves before its
//! process ends is a race in the client (Codex 0.171.0 lost it 2 of 30 times), and sending it is
//! a SHOULD (MCP 2025-06-18, Streamable HTTP, session management). The timeline keeps them.

use mock_server::{AccessRecord, Phase};

/// Reorders only what races: within a run of consecutive discovery requests, by path; within a
/// run of consecutive MCP requests, the long-lived streams (the SSE `GET`s, and 2026-07-28's
/// `subscriptions/listen`) after the other requests of the run.
pub fn canonical_order(log: &[AccessRecord]) -> Vec<AccessRecord> {
    let mut records: Vec<AccessRecord> = log
        .iter()
        .filter(|r| r.phase != Phase::Admin)
        .filter(|r| !(r.phase == Phase::Mcp && r.method == "DELETE"))
        .cloned()
        .collect();
    sort_probe_bursts(&mut records);
    let mut out = Vec::with_capacity(records.len());
    let mut i = 0;
    while i < records.len() {
        let phase = records[i].phase;
        let mut j = i;
        while j < records.len() && records[j].phase == phase {
            j += 1;
        }
        let mut run: Vec<AccessRecord> = records[i..j].to_vec();
        match phase {
            Phase::Discovery => run.sort_by(|a, b| {
                (a.on_authorization_server, &a.path).cmp(&(b.on_authorization_server, &b.path))
            }),
            Phase::Mcp => {
                run.sort_by_key(|r| {
                    r.method == "GET" || r.rpc_method.as_deref() == Some("subscriptions/listen")
                });
                sort_concurrent_lists(&mut run);
            }
            _ => {}
        }
        out.extend(run);
        i = j;
    }
    out
}

/// An MCP request the server refused for want of a (valid) token.
fn refused_for_auth(r: &AccessRecord) -> bool {
    r.phase == Phase::Mcp && r.status == 401
}

/// A probe burst: consecutive MCP requests refused with 401 and discovery requests, holding at
/// least one of each. Inside one, the client's tasks race (a connection attempt and an
/// authentication probe, each fetching metadata), so only what it holds is kept, in a fixed order:
/// the refused MCP requests first (streams after the others, else arrival order), then the
/// discovery requests by server and path.
fn sort_probe_bursts(records: &mut [AccessRecord]) {
    let in_burst = |r: &AccessRecord| refused_for_auth(r) || r.phase == Phase::Discovery;
    let mut i = 0;
    while i < records.len() {
        if !in_burst(&records[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < records.len() && in_burst(&records[j]) {
            j += 1;
        }
        let burst = &mut records[i..j];
        if burst.iter().any(refused_for_auth) && burst.iter().any(|r| r.phase == Phase::Discovery) {
            burst.sort_by(|a, b| {
                let key = |r: &AccessRecord| {
                    (
                        r.phase == Phase::Discovery,
                        r.method == "GET" && r.phase == Phase::Mcp,
                        r.on_authorization_server,
                        if r.phase == Phase::Discovery {
                            r.path.clone()
                        } else {
                            String::new()
                        },
                    )
                };
                key(a).cmp(&key(b))
            });
        }
        i = j;
    }
}

/// A client lists what the server's capabilities offer (`tools/list`, `prompts/list`,
/// `resources/list`, …) concurrently; each run of consecutive list requests is put in method
/// order (stable, so retries of one list keep theirs).
fn sort_concurrent_lists(run: &mut [AccessRecord]) {
    let is_list = |r: &AccessRecord| {
        r.rpc_method
            .as_deref()
            .is_some_and(|m| m.ends_with("/list"))
    };
    let mut i = 0;
    while i < run.len() {
        if !is_list(&run[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < run.len() && is_list(&run[j]) {
            j += 1;
        }
        run[i..j].sort_by(|a, b| a.rpc_method.cmp(&b.rpc_method));
        i = j;
    }
}

/// The canonical text the snapshots hold.
pub fn canonical_text(log: &[AccessRecord]) -> String {
    mock_server::render_canonical(&canonical_order(log))
}

/// A timeline for people: time since the first request, then the record.
pub fn render_timeline(log: &[AccessRecord]) -> String {
    let start = log.first().map(|r| r.at_ms).unwrap_or(0);
    let mut out = String::new();
    for r in log.iter().filter(|r| r.phase != Phase::Admin) {
        let phase = format!("{:?}", r.phase).to_lowercase();
        out.push_str(&format!(
            "{:>7.3}s  {:<13} {}\n",
            (r.at_ms.saturating_sub(start)) as f64 / 1000.0,
            phase,
            crate::checks::evidence_line(r)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(method: &str, path: &str, phase: Phase, status: u16) -> AccessRecord {
        serde_json::from_value(serde_json::json!({
            "seq": 1, "at_ms": 0, "method": method, "path": path, "phase": phase,
            "rpc_method": null, "rpc_id": null, "rpc_kind": null, "grant_type": null,
            "client_id": null, "bearer": {"status": "none"}, "session_id": null,
            "protocol_version": null, "accept": null, "user_agent": null, "status": status,
            "error": null
        }))
        .expect("an access record")
    }

    fn lines(log: &[AccessRecord]) -> Vec<String> {
        canonical_order(log)
            .iter()
            .map(|r| format!("{} {} {}", r.method, r.path, r.status))
            .collect()
    }

    const PRM: &str = "/.well-known/oauth-protected-resource";
    const ASM: &str = "/.well-known/oauth-authorization-server";

    #[test]
    fn a_connection_attempt_racing_an_auth_probe_reads_the_same_either_way() {
        let usual = [
            record("POST", "/mcp", Phase::Mcp, 401),
            record("GET", "/mcp", Phase::Mcp, 401),
            record("GET", ASM, Phase::Discovery, 200),
            record("GET", PRM, Phase::Discovery, 200),
            record("GET", "/mcp", Phase::Mcp, 401),
            record("GET", ASM, Phase::Discovery, 200),
            record("GET", PRM, Phase::Discovery, 200),
            record("POST", "/oauth/register", Phase::Registration, 201),
        ];
        let interleaved = [
            record("GET", "/mcp", Phase::Mcp, 401),
            record("GET", PRM, Phase::Discovery, 200),
            record("POST", "/mcp", Phase::Mcp, 401),
            record("GET", ASM, Phase::Discovery, 200),
            record("GET", "/mcp", Phase::Mcp, 401),
            record("GET", ASM, Phase::Discovery, 200),
            record("GET", PRM, Phase::Discovery, 200),
            record("POST", "/oauth/register", Phase::Registration, 201),
        ];
        assert_eq!(lines(&usual), lines(&interleaved));
        assert_eq!(lines(&usual)[0], "POST /mcp 401");
        assert_eq!(lines(&usual)[7], "POST /oauth/register 201");
    }

    #[test]
    fn a_request_that_succeeds_ends_a_probe_burst_and_keeps_its_place() {
        let log = [
            record("GET", PRM, Phase::Discovery, 200),
            record("POST", "/mcp", Phase::Mcp, 401),
            record("POST", "/mcp", Phase::Mcp, 200),
            record("GET", ASM, Phase::Discovery, 200),
        ];
        assert_eq!(
            lines(&log),
            [
                "POST /mcp 401",
                &format!("GET {PRM} 200"),
                "POST /mcp 200",
                &format!("GET {ASM} 200"),
            ]
        );
    }

    #[test]
    fn refused_requests_without_discovery_keep_their_order() {
        let log = [
            record("GET", "/mcp", Phase::Mcp, 401),
            record("POST", "/mcp", Phase::Mcp, 401),
        ];
        // Not a probe burst (no discovery); the MCP run still puts the stream last.
        assert_eq!(lines(&log), ["POST /mcp 401", "GET /mcp 401"]);
    }

    #[test]
    fn session_deletes_are_left_out_of_the_canonical_form_but_not_the_timeline() {
        let log = [
            record("POST", "/mcp", Phase::Mcp, 200),
            record("DELETE", "/mcp", Phase::Mcp, 204),
        ];
        assert_eq!(lines(&log), ["POST /mcp 200"]);
        assert!(render_timeline(&log).contains("DELETE"));
    }
}
