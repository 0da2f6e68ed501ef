//! Lints on the HTTP side of authorization and of the Streamable HTTP transport: the 401
//! challenge, OAuth error bodies, dynamic client registration responses, the session header.

use serde_json::Value;

use crate::checks::Check;
use crate::lints::oauth::verdict;
use crate::proxy::Exchange;
use mock_server::client::challenge_param;
use mock_server::Phase;

pub const UNAUTHORIZED_CHALLENGE: &str = "unauthorized-challenge";
pub const TOKEN_ERROR_JSON: &str = "token-error-json";
pub const REGISTRATION_RESPONSE: &str = "registration-response";
pub const SESSION_ID_CHARACTERS: &str = "session-id-visible-ascii";

const CHALLENGE_RULE: &str = "RFC 9110 §15.5.2: a 401 response MUST carry a `WWW-Authenticate` \
header; RFC 6750 §3: the `Bearer` scheme; MCP authorization 2025-06-18: MCP servers MUST use it \
to name the protected resource metadata (`resource_metadata`, RFC 9728 §5.1); 2025-11-25: the \
header's `resource_metadata` or the metadata at its well-known URL, and the challenge SHOULD name \
the `scope` needed";
const TOKEN_ERROR_RULE: &str = "RFC 6749 §5.2: a token error is HTTP 400 (401 for a failed client \
authentication) with `Content-Type: application/json` and a JSON object whose `error` is one of \
invalid_request, invalid_client, invalid_grant, unauthorized_client, unsupported_grant_type, \
invalid_scope";
const REGISTRATION_RULE: &str = "RFC 7591 §3.2.1: a successful registration is HTTP 201 Created \
with a JSON body holding `client_id`; §3.2.2: an error is HTTP 400 with a JSON `error`";
const SESSION_RULE: &str = "MCP 2025-03-26 and later, Transports › Streamable HTTP › Session \
Management: the session ID MUST only contain visible ASCII characters (0x21 to 0x7E)";

const TOKEN_ERRORS: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
];

fn json_body(exchange: &Exchange) -> Option<Value> {
    serde_json::from_str(exchange.response_body.as_deref()?).ok()
}

fn is_json(exchange: &Exchange) -> bool {
    exchange
        .response_header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/json"))
}

/// Every 401 from the MCP endpoint carries a Bearer challenge naming the protected resource
/// metadata (or, from 2025-11-25, the server serves it at the well-known URL).
pub fn unauthorized_challenge(exchanges: &[Exchange]) -> Check {
    let prm_at_well_known = exchanges.iter().any(|e| {
        e.phase == Phase::Discovery
            && e.status == 200
            && e.upstream_url
                .contains("/.well-known/oauth-protected-resource")
    });
    let mut judged = Vec::new();
    let mut bad = Vec::new();
    for exchange in exchanges
        .iter()
        .filter(|e| e.phase == Phase::Mcp && e.status == 401)
    {
        let seq = exchange.seq;
        let Some(challenge) = exchange.response_header("www-authenticate") else {
            bad.push(format!(
                "#{seq} {}: 401 without WWW-Authenticate",
                exchange.method
            ));
            continue;
        };
        if !challenge
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("bearer")
        {
            bad.push(format!("#{seq}: 401 challenge is not Bearer: {challenge}"));
            continue;
        }
        let metadata = challenge_param(challenge, "resource_metadata");
        let scope = challenge_param(challenge, "scope");
        let line = format!(
            "#{seq}: WWW-Authenticate: {challenge} (resource_metadata {}, scope {})",
            if metadata.is_some() {
                "named"
            } else {
                "absent"
            },
            scope.as_deref().unwrap_or("absent")
        );
        if metadata.is_some() || prm_at_well_known {
            judged.push(line);
        } else {
            bad.push(format!(
                "{line}; and no protected resource metadata answered at its well-known URL"
            ));
        }
    }
    verdict(
        UNAUTHORIZED_CHALLENGE,
        CHALLENGE_RULE,
        "401 from the MCP endpoint",
        judged,
        bad,
    )
}

/// Every error the token endpoint answered is RFC 6749 §5.2 JSON.
pub fn token_error_json(exchanges: &[Exchange]) -> Check {
    let mut judged = Vec::new();
    let mut bad = Vec::new();
    for exchange in exchanges
        .iter()
        .filter(|e| e.phase == Phase::Token && e.status >= 400 && e.status < 500)
    {
        let seq = exchange.seq;
        let error = json_body(exchange)
            .and_then(|b| b.get("error").and_then(Value::as_str).map(str::to_owned));
        let line = format!(
            "#{seq} token endpoint: HTTP {}, Content-Type {}, error {}",
            exchange.status,
            exchange.response_header("content-type").unwrap_or("(none)"),
            error.as_deref().unwrap_or("(none)")
        );
        let known = error.as_deref().is_some_and(|e| TOKEN_ERRORS.contains(&e));
        if known && is_json(exchange) && matches!(exchange.status, 400 | 401) {
            judged.push(line);
        } else {
            bad.push(line);
        }
    }
    verdict(
        TOKEN_ERROR_JSON,
        TOKEN_ERROR_RULE,
        "token error",
        judged,
        bad,
    )
}

/// Every dynamic client registration answered 201 with a `client_id`, or 400 with a JSON
/// `error`.
pub fn registration_response(exchanges: &[Exchange]) -> Check {
    let mut judged = Vec::new();
    let mut bad = Vec::new();
    for exchange in exchanges
        .iter()
        .filter(|e| e.phase == Phase::Registration && e.method == "POST")
    {
        let seq = exchange.seq;
        let body = json_body(exchange);
        let line = format!(
            "#{seq} registration: HTTP {}, Content-Type {}",
            exchange.status,
            exchange.response_header("content-type").unwrap_or("(none)")
        );
        let ok = match exchange.status {
            201 => body
                .as_ref()
                .and_then(|b| b.get("client_id"))
                .is_some_and(Value::is_string),
            400 => body
                .as_ref()
                .and_then(|b| b.get("error"))
                .is_some_and(Value::is_string),
            _ => false,
        };
        if ok && is_json(exchange) {
            judged.push(line);
        } else {
            bad.push(line);
        }
    }
    verdict(
        REGISTRATION_RESPONSE,
        REGISTRATION_RULE,
        "registration response",
        judged,
        bad,
    )
}

/// Every `Mcp-Session-Id` the server assigned is visible ASCII.
pub fn session_id_visible_ascii(exchanges: &[Exchange]) -> Check {
    let mut judged = Vec::new();
    let mut bad = Vec::new();
    for exchange in exchanges.iter().filter(|e| e.phase == Phase::Mcp) {
        let Some(id) = exchange.response_header("mcp-session-id") else {
            continue;
        };
        let line = format!(
            "#{} Mcp-Session-Id of {} character(s)",
            exchange.seq,
            id.len()
        );
        if !id.is_empty() && id.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            judged.push(line);
        } else {
            bad.push(format!("{line}: {id:?}"));
        }
    }
    verdict(
        SESSION_ID_CHARACTERS,
        SESSION_RULE,
        "session ID assigned",
        judged,
        bad,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Verdict;

    fn exchange(
        phase: Phase,
        method: &str,
        status: u16,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Exchange {
        Exchange {
            seq: 1,
            method: method.into(),
            upstream_url: "http://127.0.0.1:1/x".into(),
            phase,
            on_authorization_server: false,
            status,
            request_headers: Vec::new(),
            request_body: None,
            response_headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            response_body: Some(body.into()),
        }
    }

    #[test]
    fn a_401_must_challenge_with_bearer_and_name_the_resource_metadata() {
        let good = exchange(
            Phase::Mcp,
            "POST",
            401,
            "",
            &[(
                "WWW-Authenticate",
                r#"Bearer resource_metadata="http://x/.well-known/oauth-protected-resource", scope="mcp""#,
            )],
        );
        let check = unauthorized_challenge(&[good]);
        assert_eq!(check.verdict, Verdict::Pass, "{check:?}");
        assert!(check.evidence[0].contains("scope mcp"), "{check:?}");
        let bare = exchange(
            Phase::Mcp,
            "POST",
            401,
            "",
            &[("WWW-Authenticate", "Bearer")],
        );
        assert_eq!(
            unauthorized_challenge(std::slice::from_ref(&bare)).verdict,
            Verdict::Fail
        );
        let none = exchange(Phase::Mcp, "POST", 401, "", &[]);
        assert_eq!(unauthorized_challenge(&[none]).verdict, Verdict::Fail);
        // 2025-11-25's other way: the metadata at its well-known URL.
        let mut prm = exchange(Phase::Discovery, "GET", 200, "{}", &[]);
        prm.upstream_url = "http://x/.well-known/oauth-protected-resource/mcp".into();
        assert_eq!(unauthorized_challenge(&[bare, prm]).verdict, Verdict::Pass);
        assert_eq!(unauthorized_challenge(&[]).verdict, Verdict::NotApplicable);
    }

    #[test]
    fn token_errors_must_be_rfc_6749_json() {
        let json = [("Content-Type", "application/json")];
        let good = exchange(
            Phase::Token,
            "POST",
            400,
            r#"{"error":"invalid_grant"}"#,
            &json,
        );
        assert_eq!(token_error_json(&[good]).verdict, Verdict::Pass);
        let html = exchange(
            Phase::Token,
            "POST",
            400,
            "<h1>Bad</h1>",
            &[("Content-Type", "text/html")],
        );
        assert_eq!(token_error_json(&[html]).verdict, Verdict::Fail);
        let odd = exchange(Phase::Token, "POST", 403, r#"{"error":"expired"}"#, &json);
        assert_eq!(token_error_json(&[odd]).verdict, Verdict::Fail);
    }

    #[test]
    fn registrations_must_answer_201_with_a_client_id() {
        let json = [("Content-Type", "application/json")];
        let good = exchange(
            Phase::Registration,
            "POST",
            201,
            r#"{"client_id":"c1"}"#,
            &json,
        );
        assert_eq!(registration_response(&[good]).verdict, Verdict::Pass);
        let ok200 = exchange(
            Phase::Registration,
            "POST",
            200,
            r#"{"client_id":"c1"}"#,
            &json,
        );
        assert_eq!(registration_response(&[ok200]).verdict, Verdict::Fail);
        let no_id = exchange(Phase::Registration, "POST", 201, r#"{}"#, &json);
        assert_eq!(registration_response(&[no_id]).verdict, Verdict::Fail);
    }

    #[test]
    fn session_ids_must_be_visible_ascii() {
        let good = exchange(Phase::Mcp, "POST", 200, "", &[("Mcp-Session-Id", "a1-B2")]);
        assert_eq!(session_id_visible_ascii(&[good]).verdict, Verdict::Pass);
        let spaced = exchange(Phase::Mcp, "POST", 200, "", &[("Mcp-Session-Id", "a b")]);
        assert_eq!(session_id_visible_ascii(&[spaced]).verdict, Verdict::Fail);
    }
}
