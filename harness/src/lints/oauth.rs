//! Lints on the OAuth side: metadata documents naming the URL they were fetched from, token
//! responses that must not be cached.

use serde_json::Value;
use url::Url;

use crate::checks::Check;
use crate::proxy::origins::origin_of;
use crate::proxy::Exchange;
use mock_server::Phase;

pub const ISSUER_MATCHES: &str = "metadata-issuer-matches-url";
pub const RESOURCE_MATCHES: &str = "metadata-resource-matches-url";
pub const TOKEN_NO_STORE: &str = "token-response-no-store";
pub const PRM_NAMES_SERVERS: &str = "resource-metadata-names-authorization-servers";
pub const PKCE_S256_ADVERTISED: &str = "metadata-advertises-pkce-s256";

const AUTHORIZATION_SERVERS_RULE: &str = "MCP authorization (2025-06-18, 2025-11-25), \
Authorization Server Discovery: the protected resource metadata MUST include the \
`authorization_servers` field with at least one authorization server (RFC 9728 §2)";
const PKCE_RULE: &str = "MCP authorization (2025-11-25), Authorization Code Protection: if \
`code_challenge_methods_supported` is absent from the authorization server metadata, the client \
MUST refuse to proceed; with it, S256 MUST be among them (RFC 8414 §2, RFC 7636 §4.2)";

const ISSUER_RULE: &str = "RFC 8414 §3.3: the `issuer` value returned MUST be identical to the \
issuer identifier into which the well-known URI string was inserted (§3.1: a terminating `/` \
removed first); OpenID Connect Discovery 1.0 §4.3 likewise";
const RESOURCE_RULE: &str = "RFC 9728 §3.3: the `resource` value returned MUST be identical to \
the protected resource's resource identifier into which the well-known URI string was inserted \
(§3.1: a terminating `/` removed first)";
const NO_STORE_RULE: &str = "RFC 6749 §5.1: the authorization server MUST include the HTTP \
`Cache-Control` response header field with a value of `no-store` in any response containing \
tokens (OAuth 2.1 draft §3.2.3 likewise)";

const AS_METADATA: &str = "oauth-authorization-server";
const OIDC_METADATA: &str = "openid-configuration";
const PRM: &str = "oauth-protected-resource";

/// The well-known URL of `identifier` for `suffix` (RFC 8414 §3.1, RFC 9728 §3.1): a
/// terminating `/` removed from the path, `/.well-known/<suffix>` inserted before it.
pub fn well_known_url(identifier: &str, suffix: &str) -> Option<String> {
    let url = Url::parse(identifier).ok()?;
    let origin = origin_of(&url)?;
    let path = url.path().trim_end_matches('/');
    Some(format!("{origin}/.well-known/{suffix}{path}"))
}

/// The URL fetched, without its query, origin in lower case.
fn fetched(exchange: &Exchange) -> Option<String> {
    let url = Url::parse(&exchange.upstream_url).ok()?;
    Some(format!("{}{}", origin_of(&url)?, url.path()))
}

/// The metadata documents fetched under `/.well-known/<suffix>` and answered 200 with JSON.
fn documents<'a>(
    exchanges: &'a [Exchange],
    suffixes: &'a [&'a str],
) -> impl Iterator<Item = (&'a Exchange, &'a str, Value)> + 'a {
    exchanges.iter().filter_map(move |e| {
        if e.phase != Phase::Discovery || e.status != 200 {
            return None;
        }
        let url = fetched(e)?;
        let path = Url::parse(&url).ok()?.path().to_owned();
        let suffix = suffixes
            .iter()
            .find(|s| path.starts_with(&format!("/.well-known/{s}")))?;
        let doc: Value = serde_json::from_str(e.response_body.as_deref()?).ok()?;
        Some((e, *suffix, doc))
    })
}

/// Each authorization-server metadata document names as `issuer` the identifier its URL was
/// made from.
pub fn issuer_matches_metadata_url(exchanges: &[Exchange]) -> Check {
    let mut judged = Vec::new();
    let mut bad = Vec::new();
    for (exchange, suffix, doc) in documents(exchanges, &[AS_METADATA, OIDC_METADATA]) {
        let url = fetched(exchange).unwrap_or_default();
        let Some(issuer) = doc.get("issuer").and_then(Value::as_str) else {
            bad.push(format!(
                "#{} {url}: no `issuer` (RFC 8414 §2: REQUIRED)",
                exchange.seq
            ));
            continue;
        };
        let mut expected: Vec<String> = well_known_url(issuer, suffix).into_iter().collect();
        if suffix == OIDC_METADATA {
            // OpenID Connect Discovery §4.1: the suffix appended to the issuer.
            expected.push(format!(
                "{}/.well-known/{suffix}",
                issuer.trim_end_matches('/')
            ));
        }
        let line = format!("#{} {url}: issuer {issuer}", exchange.seq);
        if expected.iter().any(|e| e.eq_ignore_ascii_case(&url)) {
            judged.push(line);
        } else {
            bad.push(format!(
                "{line}, whose metadata URL would be {}",
                expected.first().cloned().unwrap_or_default()
            ));
        }
    }
    verdict(
        ISSUER_MATCHES,
        ISSUER_RULE,
        "authorization-server metadata document",
        judged,
        bad,
    )
}

/// Each protected resource metadata document fetched at a well-known URL names as `resource`
/// the identifier that URL was made from.
pub fn resource_matches_metadata_url(exchanges: &[Exchange]) -> Check {
    let mut judged = Vec::new();
    let mut bad = Vec::new();
    for (exchange, suffix, doc) in documents(exchanges, &[PRM]) {
        let url = fetched(exchange).unwrap_or_default();
        let Some(resource) = doc.get("resource").and_then(Value::as_str) else {
            bad.push(format!(
                "#{} {url}: no `resource` (RFC 9728 §2: REQUIRED)",
                exchange.seq
            ));
            continue;
        };
        let expected = well_known_url(resource, suffix).unwrap_or_default();
        let line = format!("#{} {url}: resource {resource}", exchange.seq);
        if expected.eq_ignore_ascii_case(&url) {
            judged.push(line);
        } else {
            bad.push(format!("{line}, whose metadata URL would be {expected}"));
        }
    }
    verdict(
        RESOURCE_MATCHES,
        RESOURCE_RULE,
        "protected resource metadata document",
        judged,
        bad,
    )
}

/// Each protected resource metadata document names at least one authorization server.
pub fn resource_metadata_names_authorization_servers(exchanges: &[Exchange]) -> Check {
    let mut judged = Vec::new();
    let mut bad = Vec::new();
    for (exchange, _, doc) in documents(exchanges, &[PRM]) {
        let url = fetched(exchange).unwrap_or_default();
        let servers: Vec<&str> = doc
            .get("authorization_servers")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let line = format!("#{} {url}: authorization_servers {servers:?}", exchange.seq);
        if servers.is_empty() {
            bad.push(line);
        } else {
            judged.push(line);
        }
    }
    verdict(
        PRM_NAMES_SERVERS,
        AUTHORIZATION_SERVERS_RULE,
        "protected resource metadata document",
        judged,
        bad,
    )
}

/// Each authorization-server metadata document lists S256 in `code_challenge_methods_supported`.
pub fn metadata_advertises_pkce_s256(exchanges: &[Exchange]) -> Check {
    let mut judged = Vec::new();
    let mut bad = Vec::new();
    for (exchange, _, doc) in documents(exchanges, &[AS_METADATA, OIDC_METADATA]) {
        let url = fetched(exchange).unwrap_or_default();
        let methods: Vec<&str> = doc
            .get("code_challenge_methods_supported")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let line = format!(
            "#{} {url}: code_challenge_methods_supported {methods:?}",
            exchange.seq
        );
        if methods.contains(&"S256") {
            judged.push(line);
        } else {
            bad.push(line);
        }
    }
    verdict(
        PKCE_S256_ADVERTISED,
        PKCE_RULE,
        "authorization-server metadata document",
        judged,
        bad,
    )
}

/// Every successful token response carries `Cache-Control: no-store`.
pub fn token_response_no_store(exchanges: &[Exchange]) -> Check {
    let mut judged = Vec::new();
    let mut bad = Vec::new();
    for exchange in exchanges
        .iter()
        .filter(|e| e.phase == Phase::Token && e.status == 200)
    {
        let has_token = exchange
            .response_body
            .as_deref()
            .and_then(|b| serde_json::from_str::<Value>(b).ok())
            .is_some_and(|d| d.get("access_token").is_some());
        if !has_token {
            continue;
        }
        let cache = exchange.response_header("cache-control").unwrap_or("");
        let line = format!(
            "#{} {} {}: Cache-Control: {}",
            exchange.method,
            exchange.seq,
            fetched(exchange).unwrap_or_default(),
            if cache.is_empty() { "(none)" } else { cache }
        );
        if cache
            .split(',')
            .any(|d| d.trim().eq_ignore_ascii_case("no-store"))
        {
            judged.push(line);
        } else {
            bad.push(line);
        }
    }
    verdict(TOKEN_NO_STORE, NO_STORE_RULE, "token response", judged, bad)
}

pub(crate) fn verdict(
    name: &str,
    rule: &str,
    what: &str,
    judged: Vec<String>,
    bad: Vec<String>,
) -> Check {
    let total = judged.len() + bad.len();
    if total == 0 {
        return Check::not_applicable(
            name,
            format!("no {what} was recorded"),
            vec![rule.to_owned()],
        );
    }
    if bad.is_empty() {
        let mut evidence = judged;
        evidence.push(rule.to_owned());
        return Check::pass(
            name,
            format!("{total} {what}(s), each as the rule says"),
            evidence,
        );
    }
    let mut evidence = bad;
    evidence.push(rule.to_owned());
    Check::fail(
        name,
        format!("{} of {total} {what}(s) break the rule", evidence.len() - 1),
        evidence,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Verdict;

    fn exchange(
        phase: Phase,
        url: &str,
        status: u16,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Exchange {
        Exchange {
            seq: 1,
            method: "GET".into(),
            upstream_url: url.into(),
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
    fn the_issuer_must_be_the_one_the_metadata_url_was_made_from() {
        let good = exchange(
            Phase::Discovery,
            "http://localhost:3001/.well-known/oauth-authorization-server",
            200,
            r#"{"issuer":"http://localhost:3001/","token_endpoint":"http://localhost:3001/token"}"#,
            &[],
        );
        assert_eq!(issuer_matches_metadata_url(&[good]).verdict, Verdict::Pass);
        let with_path = exchange(
            Phase::Discovery,
            "http://as.example/.well-known/oauth-authorization-server/tenant",
            200,
            r#"{"issuer":"http://as.example/tenant"}"#,
            &[],
        );
        assert_eq!(
            issuer_matches_metadata_url(&[with_path]).verdict,
            Verdict::Pass
        );
        let wrong = exchange(
            Phase::Discovery,
            "http://localhost:3001/.well-known/oauth-authorization-server",
            200,
            r#"{"issuer":"https://login.example/"}"#,
            &[],
        );
        let check = issuer_matches_metadata_url(&[wrong]);
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(
            check.evidence[0].contains("https://login.example/"),
            "{check:?}"
        );
        assert_eq!(
            issuer_matches_metadata_url(&[]).verdict,
            Verdict::NotApplicable
        );
    }

    #[test]
    fn the_resource_must_be_the_one_the_metadata_url_was_made_from() {
        let good = exchange(
            Phase::Discovery,
            "http://localhost:3000/.well-known/oauth-protected-resource/mcp",
            200,
            r#"{"resource":"http://localhost:3000/mcp"}"#,
            &[],
        );
        assert_eq!(
            resource_matches_metadata_url(&[good]).verdict,
            Verdict::Pass
        );
        let root = exchange(
            Phase::Discovery,
            "http://127.0.0.1:9/.well-known/oauth-protected-resource",
            200,
            r#"{"resource":"http://127.0.0.1:9/"}"#,
            &[],
        );
        assert_eq!(
            resource_matches_metadata_url(&[root]).verdict,
            Verdict::Pass
        );
        let wrong = exchange(
            Phase::Discovery,
            "http://localhost:3000/.well-known/oauth-protected-resource/mcp",
            200,
            r#"{"resource":"http://localhost:3000/"}"#,
            &[],
        );
        assert_eq!(
            resource_matches_metadata_url(&[wrong]).verdict,
            Verdict::Fail
        );
        let missing = exchange(
            Phase::Discovery,
            "http://localhost:3000/.well-known/oauth-protected-resource/mcp",
            200,
            r#"{"authorization_servers":[]}"#,
            &[],
        );
        assert_eq!(
            resource_matches_metadata_url(&[missing]).verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn resource_metadata_must_name_a_server_and_as_metadata_must_offer_s256() {
        let prm = |body: &str| {
            exchange(
                Phase::Discovery,
                "http://localhost:3000/.well-known/oauth-protected-resource/mcp",
                200,
                body,
                &[],
            )
        };
        let named = prm(
            r#"{"resource":"http://localhost:3000/mcp","authorization_servers":["http://localhost:3001/"]}"#,
        );
        assert_eq!(
            resource_metadata_names_authorization_servers(&[named]).verdict,
            Verdict::Pass
        );
        let unnamed = prm(r#"{"resource":"http://localhost:3000/mcp","authorization_servers":[]}"#);
        assert_eq!(
            resource_metadata_names_authorization_servers(&[unnamed]).verdict,
            Verdict::Fail
        );
        let asm = |body: &str| {
            exchange(
                Phase::Discovery,
                "http://localhost:3001/.well-known/oauth-authorization-server",
                200,
                body,
                &[],
            )
        };
        let s256 = asm(
            r#"{"issuer":"http://localhost:3001/","code_challenge_methods_supported":["S256"]}"#,
        );
        assert_eq!(
            metadata_advertises_pkce_s256(&[s256]).verdict,
            Verdict::Pass
        );
        let plain = asm(
            r#"{"issuer":"http://localhost:3001/","code_challenge_methods_supported":["plain"]}"#,
        );
        assert_eq!(
            metadata_advertises_pkce_s256(&[plain]).verdict,
            Verdict::Fail
        );
        let absent = asm(r#"{"issuer":"http://localhost:3001/"}"#);
        assert_eq!(
            metadata_advertises_pkce_s256(&[absent]).verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn token_responses_must_say_no_store() {
        let body = r#"{"access_token":"<redacted>","token_type":"bearer"}"#;
        let good = exchange(
            Phase::Token,
            "http://localhost:3001/token",
            200,
            body,
            &[("cache-control", "no-cache, no-store")],
        );
        assert_eq!(token_response_no_store(&[good]).verdict, Verdict::Pass);
        let bad = exchange(Phase::Token, "http://localhost:3001/token", 200, body, &[]);
        assert_eq!(token_response_no_store(&[bad]).verdict, Verdict::Fail);
        let refused = exchange(
            Phase::Token,
            "http://localhost:3001/token",
            400,
            r#"{"error":"invalid_grant"}"#,
            &[],
        );
        assert_eq!(
            token_response_no_store(&[refused]).verdict,
            Verdict::NotApplicable
        );
    }
}
