//! Named checks over the mock server's access log. Each verdict comes from an ordering rule (a
//! partial order over the log), and carries the log lines that prove it either way.

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
    line.push_str(&format!(" -> {}", r.status));
    if let Some(error) = &r.error {
        line.push_str(&format!(" ({error})"));
    }
    line
}

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

/// After the token exchange: an authenticated `initialize` answered 200, then an authenticated
/// `notifications/initialized` accepted (2025-11-25 and earlier revisions).
pub fn reinitialized_after_token(log: &[AccessRecord]) -> Check {
    let Some(token) = token_exchange(log) else {
        return Check::fail(
            REINITIALIZED_AFTER_TOKEN,
            "no token exchange, so nothing can follow it",
            vec![],
        );
    };
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
/// an authenticated `initialize` opened after the token exchange.
pub fn tools_listed_after_token(log: &[AccessRecord]) -> Check {
    let Some(token) = token_exchange(log) else {
        return Check::fail(TOOLS_LISTED_AFTER_TOKEN, "no token exchange", vec![]);
    };
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
            && opened
                .iter()
                .any(|i| r.seq > i.seq && r.session_id.is_some() && r.session_id == i.session_id)
    });
    match (opened.first(), list) {
        (Some(_), Some(l)) => {
            let init = opened
                .iter()
                .find(|i| i.session_id == l.session_id)
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

/// The reconnect checks, in the order a report lists them.
pub fn reconnect_checks(log: &[AccessRecord]) -> Vec<Check> {
    vec![
        token_exchanged(log),
        reinitialized_after_token(log),
        tools_listed_after_token(log),
    ]
}
