//! Failure class 1, servers that are not OAuth: the user gave the client a static credential (an
//! API-key header) in its config, and the server answers a request without it with a `Basic`
//! challenge. The client must not start OAuth (no discovery, registration, authorization or
//! token request) and must send the configured header on every MCP request.

use mock_server::discovery::API_KEY_HEADER;
use mock_server::{AccessRecord, Phase};

use crate::checks::{evidence_line, Check};

pub const NO_OAUTH: &str = "no-oauth-with-static-credentials";
pub const HEADER_ON_EVERY_REQUEST: &str = "static-header-on-every-request";

fn is_oauth(r: &AccessRecord) -> bool {
    matches!(
        r.phase,
        Phase::Discovery | Phase::Registration | Phase::Authorization | Phase::Token
    )
}

/// No OAuth request at all: the server is not OAuth and the client holds its credential.
pub fn no_oauth(log: &[AccessRecord]) -> Check {
    let oauth: Vec<String> = log
        .iter()
        .filter(|r| is_oauth(r))
        .map(evidence_line)
        .collect();
    if oauth.is_empty() {
        Check::pass(
            NO_OAUTH,
            format!(
                "the client sent no discovery, registration, authorization or token request ({} \
                 request(s) in all): it used the configured {API_KEY_HEADER} header",
                log.len()
            ),
            Vec::new(),
        )
    } else {
        Check::fail(
            NO_OAUTH,
            format!(
                "{} OAuth request(s) to a server that is not OAuth (a Basic challenge, no \
                 metadata), although the config gives the client a static {API_KEY_HEADER} header",
                oauth.len()
            ),
            oauth,
        )
    }
}

/// Every MCP request carried the configured key, and there was at least one.
pub fn header_on_every_request(log: &[AccessRecord]) -> Check {
    let mcp: Vec<&AccessRecord> = log.iter().filter(|r| r.phase == Phase::Mcp).collect();
    let without: Vec<String> = mcp
        .iter()
        .filter(|r| r.api_key != Some(true))
        .map(|r| evidence_line(r))
        .collect();
    let listed = mcp
        .iter()
        .any(|r| r.rpc_method.as_deref() == Some("tools/list") && r.status == 200);
    if mcp.is_empty() {
        return Check::fail(
            HEADER_ON_EVERY_REQUEST,
            "the client sent the server no MCP request at all",
            Vec::new(),
        );
    }
    if without.is_empty() && listed {
        Check::pass(
            HEADER_ON_EVERY_REQUEST,
            format!(
                "all {} MCP request(s) carried the configured {API_KEY_HEADER} header, and \
                 tools/list was answered",
                mcp.len()
            ),
            mcp.iter().take(6).map(|r| evidence_line(r)).collect(),
        )
    } else {
        let mut evidence = without.clone();
        if !listed {
            evidence.push("no tools/list was answered with 200".to_owned());
        }
        Check::fail(
            HEADER_ON_EVERY_REQUEST,
            format!(
                "{} of {} MCP request(s) lacked the configured {API_KEY_HEADER} header (or sent \
                 another value){}",
                without.len(),
                mcp.len(),
                if listed {
                    ""
                } else {
                    "; the tools were never listed"
                }
            ),
            evidence,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Verdict;

    fn record(
        seq: u64,
        path: &str,
        phase: Phase,
        rpc: Option<&str>,
        status: u16,
        key: Option<bool>,
    ) -> AccessRecord {
        serde_json::from_value(serde_json::json!({
            "seq": seq, "at_ms": 0, "method": "POST", "path": path, "phase": phase,
            "rpc_method": rpc, "rpc_id": null, "rpc_kind": null, "grant_type": null,
            "client_id": null, "bearer": {"status": "none"}, "session_id": null,
            "protocol_version": null, "accept": null, "user_agent": null, "status": status,
            "error": null, "api_key": key
        }))
        .expect("an access record")
    }

    fn keyed_session() -> Vec<AccessRecord> {
        vec![
            record(1, "/", Phase::Mcp, Some("initialize"), 200, Some(true)),
            record(2, "/", Phase::Mcp, Some("tools/list"), 200, Some(true)),
        ]
    }

    #[test]
    fn a_client_that_sends_its_key_and_nothing_else_passes_both() {
        let log = keyed_session();
        assert_eq!(no_oauth(&log).verdict, Verdict::Pass);
        assert_eq!(header_on_every_request(&log).verdict, Verdict::Pass);
    }

    #[test]
    fn a_client_that_starts_oauth_fails_no_oauth() {
        let mut log = vec![
            record(1, "/", Phase::Mcp, Some("initialize"), 401, Some(false)),
            record(
                2,
                "/.well-known/oauth-protected-resource",
                Phase::Discovery,
                None,
                404,
                None,
            ),
        ];
        log.extend(keyed_session());
        let check = no_oauth(&log);
        assert_eq!(check.verdict, Verdict::Fail);
        assert_eq!(check.evidence.len(), 1);
        assert_eq!(header_on_every_request(&log).verdict, Verdict::Fail);
    }

    #[test]
    fn a_request_without_the_key_or_no_request_at_all_fails_the_header_check() {
        let mut log = keyed_session();
        log.push(record(
            3,
            "/",
            Phase::Mcp,
            Some("tools/call"),
            401,
            Some(false),
        ));
        assert_eq!(header_on_every_request(&log).verdict, Verdict::Fail);
        assert_eq!(header_on_every_request(&[]).verdict, Verdict::Fail);
        let unlisted = vec![record(
            1,
            "/",
            Phase::Mcp,
            Some("initialize"),
            200,
            Some(true),
        )];
        assert_eq!(header_on_every_request(&unlisted).verdict, Verdict::Fail);
    }
}
