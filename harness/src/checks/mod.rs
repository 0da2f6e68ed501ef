//! Named checks over the mock server's access log. Each verdict comes from an ordering rule (a
//! partial order over the log), and carries the log lines that prove it either way.

pub mod callback_port;
pub mod discovery;
pub mod legacy_transport;
pub mod model;
pub mod one_authorization;
pub mod pre_issued;
pub mod static_credentials;
pub mod timeline;

use mock_server::{AccessRecord, Bearer, Phase};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Fail,
    /// Only with positive evidence that the client lacks the feature the check needs.
    NotApplicable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::NotApplicable => "n/a",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub verdict: Verdict,
    pub summary: String,
    pub evidence: Vec<String>,
}

impl Check {
    pub fn pass(name: &str, summary: impl Into<String>, evidence: Vec<String>) -> Check {
        Check {
            name: name.to_owned(),
            verdict: Verdict::Pass,
            summary: summary.into(),
            evidence,
        }
    }

    pub fn fail(name: &str, summary: impl Into<String>, evidence: Vec<String>) -> Check {
        Check {
            name: name.to_owned(),
            verdict: Verdict::Fail,
            summary: summary.into(),
            evidence,
        }
    }

    pub fn not_applicable(name: &str, summary: impl Into<String>, evidence: Vec<String>) -> Check {
        Check {
            name: name.to_owned(),
            verdict: Verdict::NotApplicable,
            summary: summary.into(),
            evidence,
        }
    }
}

pub const TOKEN_EXCHANGED: &str = "token-exchanged";
pub const REINITIALIZED_AFTER_TOKEN: &str = "reinitialized-after-token";
pub const TOOLS_LISTED_AFTER_TOKEN: &str = "tools-listed-after-token";

/// An access-log record for a unit test: `method path -> status`, its phase from the path, every
/// other field empty (set what a test needs on the result).
#[cfg(test)]
pub(crate) fn test_record(seq: u64, method: &str, path: &str, status: u16) -> AccessRecord {
    serde_json::from_value(serde_json::json!({
        "seq": seq, "at_ms": seq, "method": method, "path": path, "phase": Phase::of_path(path),
        "rpc_method": null, "rpc_id": null, "rpc_kind": null, "grant_type": null,
        "client_id": null, "bearer": {"status": "none"}, "session_id": null,
        "protocol_version": null, "accept": null, "user_agent": null, "status": status,
        "error": null
    }))
    .expect("an access record")
}

/// One access-log record as evidence: `#12 POST / initialize bearer=at-1 session=… -> 200`.
pub fn evidence_line(r: &AccessRecord) -> String {
    let mut line = format!("#{} {} {}", r.seq, r.method, r.path);
    if let Some(m) = &r.rpc_method {
        line.push(' ');
        line.push_str(m);
    }
    if let Some(g) = &r.grant_type {
        line.push_str(" grant=");
        line.push_str(g);
    }
    match &r.bearer {
        Bearer::None => {}
        Bearer::Valid { token_id } => line.push_str(&format!(" bearer={token_id}")),
        other => line.push_str(&format!(" bearer={other:?}")),
    }
    if let Some(s) = &r.session_id {
        line.push_str(&format!(" session={}", short(s)));
    }
    if let Some(p) = &r.protocol_version {
        line.push_str(&format!(" proto={p}"));
    }
    if let Some(tool) = &r.tool_name {
        line.push_str(&format!(" tool={tool}"));
    }
    if r.modern {
        line.push(' ');
        line.push_str(&mock_server::access_log::modern_label(r));
    }
    line.push_str(&format!(" -> {}", r.status));
    if let Some(error) = &r.error {
        line.push_str(&format!(" ({error})"));
    }
    if let Some(fault) = &r.fault {
        line.push_str(&format!(" [fault: {fault}]"));
    }
    line
}

/// Which rule a reconnect is judged by: the handshake of the legacy revisions, or the
/// stateless 2026-07-28 discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Negotiated {
    /// `initialize` → `notifications/initialized` → `tools/list` in the session (2025-11-25
    /// and earlier, Basic › Lifecycle).
    Legacy(String),
    /// `server/discover` → `tools/list`, every request with `_meta` carrying the protocol
    /// version and client capabilities (2026-07-28, Basic › Versioning; Server › Discover).
    Modern(String),
}

impl Negotiated {
    pub fn revision(&self) -> &str {
        match self {
            Negotiated::Legacy(r) | Negotiated::Modern(r) => r,
        }
    }
}

/// The revision the client and server settled on after `after_seq`, read from the log: the
/// first authenticated MCP request the server answered successfully under a revision. `None`
/// when nothing after it succeeded.
pub fn negotiated_after(
    log: &[AccessRecord],
    after_seq: u64,
) -> Option<(Negotiated, &AccessRecord)> {
    log.iter()
        .filter(|r| r.seq > after_seq && r.phase == Phase::Mcp && is_authenticated(r))
        .filter(|r| (200..300).contains(&r.status))
        .find_map(|r| {
            let revision = r.negotiated.clone()?;
            let negotiated = if r.modern {
                Negotiated::Modern(revision)
            } else {
                Negotiated::Legacy(revision)
            };
            Some((negotiated, r))
        })
}

/// A 2026-07-28 request whose `_meta` names the revision and carries client capabilities.
fn has_modern_meta(r: &AccessRecord, revision: &str) -> bool {
    r.modern && r.meta_protocol_version.as_deref() == Some(revision) && r.meta_client_capabilities
}

/// The 2026-07-28 rule: after the token exchange, an authenticated `server/discover` with
/// correct `_meta` answered 200, then an authenticated `tools/list` with correct `_meta`
/// answered 200. Returns what was found of the two, and the MCP traffic after the token.
fn modern_rediscovery<'a>(
    log: &'a [AccessRecord],
    token: &'a AccessRecord,
    revision: &str,
) -> (
    Option<&'a AccessRecord>,
    Option<&'a AccessRecord>,
    Vec<String>,
) {
    let after: Vec<&AccessRecord> = log.iter().filter(|r| r.seq > token.seq).collect();
    let mut evidence = vec![evidence_line(token)];
    evidence.extend(
        after
            .iter()
            .filter(|r| r.phase == Phase::Mcp)
            .map(|r| evidence_line(r)),
    );
    let discover = after.iter().copied().find(|r| {
        is_mcp(r, "server/discover")
            && is_authenticated(r)
            && r.status == 200
            && has_modern_meta(r, revision)
    });
    let list = discover.and_then(|discover| {
        after.iter().copied().find(|r| {
            r.seq > discover.seq
                && is_mcp(r, "tools/list")
                && is_authenticated(r)
                && r.status == 200
                && has_modern_meta(r, revision)
        })
    });
    (discover, list, evidence)
}

const NO_MODERN_DISCOVER: &str = "after the token exchange the client sent no authenticated `server/discover` with `_meta` (protocol version and client capabilities) that succeeded";
const NO_MODERN_LIST: &str = "`server/discover` after the token was never followed by an authenticated `tools/list` with correct `_meta` that succeeded";

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

pub fn is_authenticated(r: &AccessRecord) -> bool {
    matches!(r.bearer, Bearer::Valid { .. })
}

fn is_mcp(r: &AccessRecord, method: &str) -> bool {
    r.phase == Phase::Mcp && r.rpc_method.as_deref() == Some(method)
}

/// The successful authorization-code exchange, if there was one (the last, if several).
pub fn token_exchange(log: &[AccessRecord]) -> Option<&AccessRecord> {
    log.iter().rev().find(|r| {
        r.phase == Phase::Token
            && r.grant_type.as_deref() == Some("authorization_code")
            && r.status == 200
    })
}

pub fn token_exchanged(log: &[AccessRecord]) -> Check {
    match token_exchange(log) {
        Some(r) => Check::pass(
            TOKEN_EXCHANGED,
            "the client exchanged an authorization code for tokens",
            vec![evidence_line(r)],
        ),
        None => Check::fail(
            TOKEN_EXCHANGED,
            "no successful authorization_code grant at the token endpoint",
            log.iter()
                .filter(|r| r.phase == Phase::Token)
                .map(evidence_line)
                .collect(),
        ),
    }
}

/// After the token exchange the client opened the conversation again, by the rule of the
/// revision it negotiated (read from the log): an authenticated `initialize` answered 200, then
/// an authenticated `notifications/initialized` accepted (2025-11-25 and earlier); or an
/// authenticated `server/discover` with correct `_meta` answered 200 (2026-07-28).
pub fn reinitialized_after_token(log: &[AccessRecord]) -> Check {
    let Some(token) = token_exchange(log) else {
        return Check::fail(
            REINITIALIZED_AFTER_TOKEN,
            "no token exchange, so nothing can follow it",
            vec![],
        );
    };
    if let Some((Negotiated::Modern(revision), _)) = negotiated_after(log, token.seq) {
        return match modern_rediscovery(log, token, &revision) {
            (Some(discover), _, _) => Check::pass(
                REINITIALIZED_AFTER_TOKEN,
                format!("({revision}, stateless) authenticated server/discover with _meta after the token exchange"),
                vec![evidence_line(token), evidence_line(discover)],
            ),
            (None, _, evidence) => Check::fail(
                REINITIALIZED_AFTER_TOKEN,
                format!("({revision}, stateless) {NO_MODERN_DISCOVER}"),
                evidence,
            ),
        };
    }
    let after: Vec<&AccessRecord> = log.iter().filter(|r| r.seq > token.seq).collect();
    let Some(init) = after
        .iter()
        .find(|r| is_mcp(r, "initialize") && is_authenticated(r) && r.status == 200)
    else {
        let mut evidence = vec![evidence_line(token)];
        evidence.extend(
            after
                .iter()
                .filter(|r| r.phase == Phase::Mcp)
                .map(|r| evidence_line(r)),
        );
        return Check::fail(
            REINITIALIZED_AFTER_TOKEN,
            "after the token exchange the client sent no authenticated `initialize` that succeeded",
            evidence,
        );
    };
    let initialized = after.iter().find(|r| {
        r.seq > init.seq
            && is_mcp(r, "notifications/initialized")
            && is_authenticated(r)
            && (200..300).contains(&r.status)
    });
    match initialized {
        Some(n) => Check::pass(
            REINITIALIZED_AFTER_TOKEN,
            "authenticated initialize, then notifications/initialized, after the token exchange",
            vec![evidence_line(token), evidence_line(init), evidence_line(n)],
        ),
        None => Check::fail(
            REINITIALIZED_AFTER_TOKEN,
            "`initialize` after the token was never followed by an accepted `notifications/initialized`",
            vec![evidence_line(token), evidence_line(init)],
        ),
    }
}

/// After the token exchange: an authenticated `tools/list` answered 200 in an MCP session that
/// an authenticated `initialize` opened after the token exchange (a sessionless server's
/// `initialize` issues no session, and then `tools/list` carries none); under 2026-07-28, an
/// authenticated `tools/list` with correct `_meta` after `server/discover`.
pub fn tools_listed_after_token(log: &[AccessRecord]) -> Check {
    let Some(token) = token_exchange(log) else {
        return Check::fail(TOOLS_LISTED_AFTER_TOKEN, "no token exchange", vec![]);
    };
    if let Some((Negotiated::Modern(revision), _)) = negotiated_after(log, token.seq) {
        return match modern_rediscovery(log, token, &revision) {
            (Some(discover), Some(list), _) => Check::pass(
                TOOLS_LISTED_AFTER_TOKEN,
                format!("({revision}, stateless) authenticated tools/list with _meta after server/discover, after the token exchange"),
                vec![evidence_line(token), evidence_line(discover), evidence_line(list)],
            ),
            (discover, _, evidence) => Check::fail(
                TOOLS_LISTED_AFTER_TOKEN,
                format!(
                    "({revision}, stateless) {}",
                    if discover.is_some() { NO_MODERN_LIST } else { NO_MODERN_DISCOVER }
                ),
                evidence,
            ),
        };
    }
    let opened: Vec<&AccessRecord> = log
        .iter()
        .filter(|r| {
            r.seq > token.seq && is_mcp(r, "initialize") && is_authenticated(r) && r.status == 200
        })
        .collect();
    let list = log.iter().find(|r| {
        r.seq > token.seq
            && is_mcp(r, "tools/list")
            && is_authenticated(r)
            && r.status == 200
            && opened.iter().any(|i| r.seq > i.seq && same_session(i, r))
    });
    match (opened.first(), list) {
        (Some(_), Some(l)) => {
            let init = opened
                .iter()
                .rev()
                .find(|i| i.seq < l.seq && same_session(i, l))
                .copied()
                .unwrap_or(opened[0]);
            Check::pass(
                TOOLS_LISTED_AFTER_TOKEN,
                "authenticated tools/list in a session opened after the token exchange",
                vec![evidence_line(token), evidence_line(init), evidence_line(l)],
            )
        }
        (None, _) => Check::fail(
            TOOLS_LISTED_AFTER_TOKEN,
            "no authenticated session was opened after the token exchange, so no tools/list in it",
            std::iter::once(evidence_line(token))
                .chain(
                    log.iter()
                        .filter(|r| r.seq > token.seq && r.phase == Phase::Mcp)
                        .map(evidence_line),
                )
                .collect(),
        ),
        (Some(i), None) => Check::fail(
            TOOLS_LISTED_AFTER_TOKEN,
            "no session opened after the token exchange listed tools successfully",
            std::iter::once(evidence_line(token))
                .chain(
                    log.iter()
                        .filter(|r| r.seq >= i.seq && r.phase == Phase::Mcp)
                        .map(evidence_line),
                )
                .collect(),
        ),
    }
}

pub const BEARER_ON_EVERY_REQUEST: &str = "bearer-on-every-request";

/// Failure class 4, "tokens stored but later requests carry no bearer". MCP authorization ›
/// "Token Requirements" (2025-06-18 and 2025-11-25): "authorization MUST be included in every
/// HTTP request from client to server, even if they are part of the same logical session"
/// (OAuth 2.1 §5.1.1, the `Authorization: Bearer` header). Judged over the MCP requests after
/// the first successful token exchange, up to `until` (the last record before a deliberate
/// token-loss event, such as a server restart that forgets every token, after which a client may
/// rightly start again without one): every one carries a bearer token, valid or not.
pub fn bearer_on_every_request(log: &[AccessRecord], until: Option<u64>) -> Check {
    let Some(token) = log.iter().find(|r| {
        r.phase == Phase::Token
            && r.grant_type.as_deref() == Some("authorization_code")
            && r.status == 200
    }) else {
        return Check::fail(
            BEARER_ON_EVERY_REQUEST,
            "no token exchange, so no later request can be judged",
            vec![],
        );
    };
    let judged: Vec<&AccessRecord> = log
        .iter()
        .filter(|r| {
            r.seq > token.seq && r.phase == Phase::Mcp && until.is_none_or(|until| r.seq <= until)
        })
        .collect();
    let bare: Vec<&&AccessRecord> = judged.iter().filter(|r| r.bearer == Bearer::None).collect();
    let window = match until {
        Some(until) => format!("between the token exchange (#{}) and #{until}", token.seq),
        None => format!("after the token exchange (#{})", token.seq),
    };
    if judged.is_empty() {
        return Check::fail(
            BEARER_ON_EVERY_REQUEST,
            format!("no MCP request {window}, so none could be judged"),
            vec![evidence_line(token)],
        );
    }
    if bare.is_empty() {
        let mut evidence = vec![
            evidence_line(token),
            format!(
                "{} MCP request(s) {window}, each with a bearer token",
                judged.len()
            ),
        ];
        evidence.extend(judged.first().map(|r| evidence_line(r)));
        if judged.len() > 1 {
            evidence.extend(judged.last().map(|r| evidence_line(r)));
        }
        Check::pass(
            BEARER_ON_EVERY_REQUEST,
            format!("every MCP request {window} carried Authorization: Bearer"),
            evidence,
        )
    } else {
        let mut evidence = vec![
            evidence_line(token),
            format!(
                "{} of {} MCP request(s) {window} without a bearer token:",
                bare.len(),
                judged.len()
            ),
        ];
        evidence.extend(bare.iter().take(12).map(|r| evidence_line(r)));
        Check::fail(
            BEARER_ON_EVERY_REQUEST,
            format!(
                "tokens were issued, but {} later MCP request(s) carried no bearer token (MCP authorization: every HTTP request MUST carry it)",
                bare.len()
            ),
            evidence,
        )
    }
}

/// `request` belongs to the session `init` opened; when `init` issued none (a sessionless
/// server), requests without one belong to it.
fn same_session(init: &AccessRecord, request: &AccessRecord) -> bool {
    request.session_id == init.session_id
}

/// The reconnect checks, in the order a report lists them.
pub fn reconnect_checks(log: &[AccessRecord]) -> Vec<Check> {
    vec![
        token_exchanged(log),
        reinitialized_after_token(log),
        tools_listed_after_token(log),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log built line by line: `token()`, then MCP requests.
    struct Log(Vec<AccessRecord>);

    impl Log {
        fn new() -> Log {
            Log(Vec::new())
        }

        fn push(mut self, f: impl FnOnce(&mut AccessRecord)) -> Log {
            let mut r = AccessRecord {
                seq: self.0.len() as u64 + 1,
                at_ms: 0,
                method: "POST".to_owned(),
                path: "/".to_owned(),
                phase: Phase::Mcp,
                rpc_method: None,
                rpc_id: None,
                rpc_kind: Some("request".to_owned()),
                tool_name: None,
                grant_type: None,
                client_id: None,
                bearer: Bearer::Valid {
                    token_id: "at-1".to_owned(),
                },
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
            };
            f(&mut r);
            self.0.push(r);
            self
        }

        fn token(self) -> Log {
            self.push(|r| {
                r.path = "/oauth/token".to_owned();
                r.phase = Phase::Token;
                r.rpc_kind = None;
                r.bearer = Bearer::None;
                r.grant_type = Some("authorization_code".to_owned());
            })
        }

        fn legacy(self, method: &str, session: Option<&str>, status: u16) -> Log {
            self.push(|r| {
                r.rpc_method = Some(method.to_owned());
                r.session_id = session.map(str::to_owned);
                r.status = status;
                if status < 300 {
                    r.negotiated = Some("2025-11-25".to_owned());
                }
            })
        }

        /// A request the server handled under 2026-07-28 rules; `meta` says what `_meta` held.
        fn modern(self, method: &str, meta: Option<&str>, caps: bool, status: u16) -> Log {
            self.push(|r| {
                r.rpc_method = Some(method.to_owned());
                r.modern = true;
                r.meta_protocol_version = meta.map(str::to_owned);
                r.meta_client_capabilities = caps;
                r.protocol_version = Some("2026-07-28".to_owned());
                r.status = status;
                if status == 200 {
                    r.negotiated = meta.map(str::to_owned);
                }
            })
        }
    }

    fn verdicts(log: &Log) -> (Verdict, Verdict) {
        (
            reinitialized_after_token(&log.0).verdict,
            tools_listed_after_token(&log.0).verdict,
        )
    }

    const MODERN: &str = "2026-07-28";

    #[test]
    fn legacy_rule_passes_initialize_initialized_tools_list() {
        let log = Log::new()
            .token()
            .legacy("initialize", Some("s1"), 200)
            .legacy("notifications/initialized", Some("s1"), 202)
            .legacy("tools/list", Some("s1"), 200);
        assert_eq!(verdicts(&log), (Verdict::Pass, Verdict::Pass));
        assert!(matches!(
            negotiated_after(&log.0, 1),
            Some((Negotiated::Legacy(_), _))
        ));
    }

    #[test]
    fn legacy_rule_negative_control_nothing_after_the_token() {
        let log = Log::new()
            .legacy("initialize", Some("s0"), 200)
            .legacy("tools/list", Some("s0"), 200)
            .token();
        assert_eq!(verdicts(&log), (Verdict::Fail, Verdict::Fail));
    }

    #[test]
    fn legacy_rule_accepts_a_sessionless_server_but_not_a_lost_session() {
        let sessionless = Log::new()
            .token()
            .legacy("initialize", None, 200)
            .legacy("notifications/initialized", None, 202)
            .legacy("tools/list", None, 200);
        assert_eq!(verdicts(&sessionless), (Verdict::Pass, Verdict::Pass));
        // Negative control: the server issued a session and the listing is in none.
        let lost = Log::new()
            .token()
            .legacy("initialize", Some("s1"), 200)
            .legacy("notifications/initialized", Some("s1"), 202)
            .legacy("tools/list", None, 200);
        assert_eq!(verdicts(&lost), (Verdict::Pass, Verdict::Fail));
    }

    #[test]
    fn modern_rule_passes_discover_then_tools_list_with_meta() {
        let log = Log::new()
            .token()
            .modern("server/discover", Some(MODERN), true, 200)
            .modern("tools/list", Some(MODERN), true, 200);
        assert_eq!(verdicts(&log), (Verdict::Pass, Verdict::Pass));
        let check = reinitialized_after_token(&log.0);
        assert!(check.summary.contains("2026-07-28"), "{}", check.summary);
        assert!(
            check.evidence[1].contains("meta=2026-07-28+caps"),
            "{:?}",
            check.evidence
        );
    }

    #[test]
    fn modern_rule_negative_control_tools_list_without_meta() {
        // The mock refuses a modern request without `_meta` (400); a log that somehow shows it
        // answered must still fail the rule.
        let refused = Log::new()
            .token()
            .modern("server/discover", Some(MODERN), true, 200)
            .modern("tools/list", None, false, 400);
        assert_eq!(verdicts(&refused), (Verdict::Pass, Verdict::Fail));
        let no_caps = Log::new()
            .token()
            .modern("server/discover", Some(MODERN), true, 200)
            .modern("tools/list", Some(MODERN), false, 200);
        assert_eq!(verdicts(&no_caps).1, Verdict::Fail);
    }

    #[test]
    fn modern_rule_negative_control_no_discover() {
        let log = Log::new()
            .token()
            .modern("tools/list", Some(MODERN), true, 200);
        assert_eq!(verdicts(&log), (Verdict::Fail, Verdict::Fail));
    }

    #[test]
    fn a_bearer_on_every_request_after_the_token_passes_and_one_missing_fails() {
        let before_token = Log::new().push(|r| {
            r.bearer = Bearer::None;
            r.status = 401;
        });
        let ok = before_token
            .token()
            .legacy("initialize", Some("s1"), 200)
            .push(|r| {
                // An expired token still counts as carried: the rule is about the header.
                r.bearer = Bearer::Expired {
                    token_id: "at-1".to_owned(),
                };
                r.status = 401;
            });
        assert_eq!(bearer_on_every_request(&ok.0, None).verdict, Verdict::Pass);
        // Negative control: one request after the token without the header.
        let bare = ok.push(|r| {
            r.bearer = Bearer::None;
            r.status = 401;
        });
        let check = bearer_on_every_request(&bare.0, None);
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(
            check.evidence.iter().any(|e| e.starts_with("#5 ")),
            "{check:?}"
        );
        // ... unless it comes after a deliberate token-loss event.
        assert_eq!(
            bearer_on_every_request(&bare.0, Some(4)).verdict,
            Verdict::Pass
        );
        // Nothing to judge is no pass.
        let nothing = Log::new().token();
        assert_eq!(
            bearer_on_every_request(&nothing.0, None).verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn the_rule_follows_the_revision_in_the_log() {
        // A dual-era client whose discover probe a legacy server refused, then the handshake:
        // judged by the legacy rule (the refused probe negotiated nothing).
        let fell_back = Log::new()
            .token()
            .legacy("server/discover", None, 400)
            .legacy("initialize", Some("s1"), 200)
            .legacy("notifications/initialized", Some("s1"), 202)
            .legacy("tools/list", Some("s1"), 200);
        assert_eq!(verdicts(&fell_back), (Verdict::Pass, Verdict::Pass));
        // A modern exchange judged by the legacy rule would fail: no initialize in it. The
        // modern rule is what makes it pass.
        let modern = Log::new()
            .token()
            .modern("server/discover", Some(MODERN), true, 200)
            .modern("tools/list", Some(MODERN), true, 200);
        assert!(!modern.0.iter().any(|r| is_mcp(r, "initialize")));
        assert!(matches!(
            negotiated_after(&modern.0, 1),
            Some((Negotiated::Modern(r), _)) if r == MODERN
        ));
    }
}
