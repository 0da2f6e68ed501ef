//! The access log in two forms: a canonical one for snapshots, stable across runs, and a
//! server-side timeline for people.
//!
//! Clients send some requests concurrently, so their arrival order is a race: metadata documents
//! fetched in parallel, and the SSE `GET` racing `tools/list` right after `initialize`. The
//! canonical form puts each such group in a fixed order; everything else keeps arrival order,
//! because that order is what the checks are about.

use mock_server::{AccessRecord, Phase};

/// Reorders only what races: within a run of consecutive discovery requests, by path; within a
/// run of consecutive MCP requests, the long-lived streams (the SSE `GET`s, and 2026-07-28's
/// `subscriptions/listen`) after the other requests of the run.
pub fn canonical_order(log: &[AccessRecord]) -> Vec<AccessRecord> {
    let records: Vec<AccessRecord> = log
        .iter()
        .filter(|r| r.phase != Phase::Admin)
        .cloned()
        .collect();
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
