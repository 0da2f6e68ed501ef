//! Checks of what a client does before it holds a token: how it found the resource metadata and
//! the authorization server, what it registered and what it sent to authorize and to the token
//! endpoint. Each reads the mock's access log, knowing how the server was configured, and cites
//! the rule it enforces.
//!
//! One check per failure class (see the discovery table in docs/discovery.md):
//! 1. `resource-metadata-found`: MCP 2025-11-25 Authorization › Protected Resource Metadata
//!    Discovery Requirements; RFC 9728 §5.1 (use the challenge's `resource_metadata`; else the
//!    path-specific, then the root well-known location, §3.1).
//! 2. `authorization-server-from-metadata`: MCP Authorization › Authorization Server Location;
//!    RFC 9728 §2 `authorization_servers`.
//! 3. `server-metadata-found`: MCP Authorization › Authorization Server Metadata Discovery;
//!    RFC 8414 §3.1 path insertion; OpenID Connect Discovery 1.0 §4.
//! 4. `resource-indicator`: MCP Authorization › Resource Parameter Implementation; RFC 8707 §2.
//! 5. `registration-reused` (and `given-client-id-used` for a pre-registered client): MCP
//!    Authorization › Dynamic Client Registration / client registration approaches; RFC 7591 §3.
//! 6. `redirect-uri-consistent`: OAuth 2.1 §4.1.1 and §4.1.3 (the registered URI, repeated
//!    exactly at the token endpoint); RFC 8252 §7.3.

use mock_server::discovery::{
    Registration, CHALLENGE_ONLY_METADATA_PATH, PRE_REGISTERED_CLIENT_ID,
};
use mock_server::{AccessRecord, Phase, ServerConfig};
use url::Url;

use crate::checks::{evidence_line, Check};

pub const RESOURCE_METADATA_FOUND: &str = "resource-metadata-found";
pub const AUTHORIZATION_SERVER_FROM_METADATA: &str = "authorization-server-from-metadata";
pub const SERVER_METADATA_FOUND: &str = "server-metadata-found";
pub const RESOURCE_INDICATOR: &str = "resource-indicator";
pub const REGISTRATION_REUSED: &str = "registration-reused";
pub const GIVEN_CLIENT_ID_USED: &str = "given-client-id-used";
pub const CLIENT_ID_METADATA_USED: &str = "client-id-metadata-used";
pub const REDIRECT_URI_CONSISTENT: &str = "redirect-uri-consistent";

/// Every discovery check that applies to a server configured as `config`.
pub fn discovery_checks(log: &[AccessRecord], config: &ServerConfig) -> Vec<Check> {
    let mut checks = vec![
        resource_metadata_found(log, config),
        server_metadata_found(log, config),
    ];
    if config.authorization_server_url.is_some() {
        checks.push(authorization_server_from_metadata(log));
    }
    checks.push(resource_indicator(log, config));
    match config.discovery.registration {
        Registration::PreRegistered => checks.push(given_client_id_used(log)),
        Registration::ClientIdMetadata => checks.push(client_id_metadata_used(log, config)),
        Registration::Dynamic => checks.push(registration_reused(log)),
    }
    checks.push(redirect_uri_consistent(log));
    checks
}

/// An evidence line with one more field: `#9 GET /oauth/authorize -> 200 resource=…`.
fn evidence_with(r: &AccessRecord, name: &str, value: Option<&str>) -> String {
    format!("{} {name}={}", evidence_line(r), value.unwrap_or("(none)"))
}

/// The requests that present a client ID, and any attempt to register.
fn client_id_requests(log: &[AccessRecord]) -> Vec<&AccessRecord> {
    log.iter()
        .filter(|r| is_authorize(r) || r.phase == Phase::Token || r.path.ends_with("/register"))
        .collect()
}

fn is_authorize(r: &AccessRecord) -> bool {
    r.phase == Phase::Authorization && r.method == "GET"
}

/// The first authorization request: what a client must have found out before it.
fn first_authorize(log: &[AccessRecord]) -> Option<&AccessRecord> {
    log.iter().find(|r| is_authorize(r))
}

fn before_first_authorize(log: &[AccessRecord]) -> impl Iterator<Item = &AccessRecord> {
    let bound = first_authorize(log).map_or(u64::MAX, |a| a.seq);
    log.iter().filter(move |r| r.seq < bound)
}

fn no_authorization_request(name: &str, log: &[AccessRecord]) -> Check {
    let evidence = log
        .iter()
        .filter(|r| r.phase != Phase::Admin && r.phase != Phase::Mcp)
        .map(evidence_line)
        .collect();
    Check::fail(
        name,
        "the client never sent an authorization request, so it never got this far",
        evidence,
    )
}

fn is_resource_metadata_request(r: &AccessRecord) -> bool {
    !r.on_authorization_server
        && r.method == "GET"
        && (r.path.starts_with("/.well-known/oauth-protected-resource")
            || r.path.starts_with(CHALLENGE_ONLY_METADATA_PATH))
}

fn path_of(url: &str) -> String {
    Url::parse(url)
        .map(|u| u.path().to_owned())
        .unwrap_or_default()
}

/// Class 1: the client found the resource metadata where the server said it is.
pub fn resource_metadata_found(log: &[AccessRecord], config: &ServerConfig) -> Check {
    const NAME: &str = RESOURCE_METADATA_FOUND;
    let Some(authorize) = first_authorize(log) else {
        return no_authorization_request(NAME, log);
    };
    let fetches: Vec<&AccessRecord> = before_first_authorize(log)
        .filter(|r| is_resource_metadata_request(r))
        .collect();
    let mut evidence: Vec<String> = fetches.iter().map(|r| evidence_line(r)).collect();
    evidence.push(evidence_line(authorize));
    let found = |path: &str| fetches.iter().any(|r| r.path == path && r.status == 200);
    // A challenge the client never met announced nothing to it: a login command from the cold
    // state may discover before any MCP request, and then the well-known locations are the
    // rule (RFC 9728 §3.1; MCP: "otherwise fall back to constructing well-known URIs").
    let met_challenge =
        before_first_authorize(log).any(|r| r.phase == Phase::Mcp && r.status == 401);
    match config
        .challenge_resource_metadata()
        .filter(|_| met_challenge)
    {
        Some(announced) => {
            let announced_path = path_of(&announced);
            let guessed: Vec<&str> = fetches
                .iter()
                .filter(|r| r.path != announced_path)
                .map(|r| r.path.as_str())
                .collect();
            if found(&announced_path) {
                Check::pass(
                    NAME,
                    format!(
                        "the client read the resource metadata at the URL the 401 challenge \
                         announced ({announced_path}){} before authorizing (MCP Authorization › \
                         Protected Resource Metadata Discovery Requirements; RFC 9728 §5.1)",
                        if guessed.is_empty() {
                            String::new()
                        } else {
                            format!(", besides guessing {}", guessed.join(", "))
                        }
                    ),
                    evidence,
                )
            } else {
                Check::fail(
                    NAME,
                    format!(
                        "the 401 challenge announced the resource metadata at {announced_path}, \
                         but the client never read it there before authorizing{} (MCP \
                         Authorization: clients MUST use the resource_metadata URL from \
                         WWW-Authenticate when present; RFC 9728 §5.1)",
                        if guessed.is_empty() {
                            String::new()
                        } else {
                            format!("; it guessed {} instead", guessed.join(", "))
                        }
                    ),
                    evidence,
                )
            }
        }
        None => {
            let served = config.resource_metadata_paths();
            let which = if met_challenge {
                "with a bare challenge"
            } else {
                "meeting no 401 challenge before it authorized (it discovered first)"
            };
            if served.iter().any(|p| found(p)) {
                Check::pass(
                    NAME,
                    format!(
                        "{which} the client found the resource metadata at a \
                         well-known location ({}) before authorizing (MCP Authorization › \
                         Protected Resource Metadata Discovery Requirements; RFC 9728 §3.1)",
                        served.join(" or ")
                    ),
                    evidence,
                )
            } else {
                Check::fail(
                    NAME,
                    format!(
                        "{} and the client did not read the resource metadata where the server \
                         serves it ({}) before authorizing (MCP Authorization: the \
                         resource_metadata URL of the 401 challenge, else the path-specific, then \
                         the root well-known URI; RFC 9728 §3.1, §5.1)",
                        if met_challenge {
                            "the challenge named no metadata"
                        } else {
                            "the client authorized without meeting a 401 challenge (an \
                             unauthenticated MCP request would have named the metadata)"
                        },
                        served.join(", ")
                    ),
                    evidence,
                )
            }
        }
    }
}

fn is_server_metadata_request(r: &AccessRecord) -> bool {
    r.method == "GET"
        && (r.path.contains("/.well-known/oauth-authorization-server")
            || r.path.contains("/.well-known/openid-configuration"))
}

/// Class 3: the client read the authorization server's metadata where the issuer publishes it.
pub fn server_metadata_found(log: &[AccessRecord], config: &ServerConfig) -> Check {
    const NAME: &str = SERVER_METADATA_FOUND;
    let Some(authorize) = first_authorize(log) else {
        return no_authorization_request(NAME, log);
    };
    let separate = config.authorization_server_url.is_some();
    let attempts: Vec<&AccessRecord> = before_first_authorize(log)
        .filter(|r| is_server_metadata_request(r))
        .collect();
    let mut evidence: Vec<String> = attempts
        .iter()
        .map(|r| {
            let origin = if r.on_authorization_server {
                "authorization-server origin"
            } else {
                "MCP origin"
            };
            format!("{} ({origin})", evidence_line(r))
        })
        .collect();
    evidence.push(evidence_line(authorize));
    let served = config.server_metadata_paths();
    let found = attempts.iter().any(|r| {
        r.status == 200 && served.contains(&r.path) && (r.on_authorization_server || !separate)
    });
    let rule = match config.discovery.server_metadata_by {
        mock_server::discovery::ServerMetadataBy::Oauth => {
            "RFC 8414 §3.1: the well-known suffix inserted before the issuer's path"
        }
        mock_server::discovery::ServerMetadataBy::Openid => {
            "OpenID Connect Discovery 1.0 §4, the MCP authorization spec's fallback when RFC 8414 \
             metadata is absent"
        }
    };
    if found {
        Check::pass(
            NAME,
            format!(
                "the client read the authorization-server metadata of issuer {} at {} before \
                 authorizing (MCP Authorization › Authorization Server Metadata Discovery; {rule})",
                config.issuer(),
                served.join(" or ")
            ),
            evidence,
        )
    } else {
        Check::fail(
            NAME,
            format!(
                "the issuer {} publishes its metadata at {} only, and the client never read it \
                 there before authorizing (MCP Authorization › Authorization Server Metadata \
                 Discovery; {rule})",
                config.issuer(),
                served.join(" and ")
            ),
            evidence,
        )
    }
}

/// Whether a request on the MCP server's listener was meant for an authorization server.
fn is_authorization_server_request(r: &AccessRecord) -> bool {
    if r.on_authorization_server || r.phase == Phase::Admin {
        return false;
    }
    is_server_metadata_request(r)
        || r.path.starts_with("/oauth/")
        || ["/authorize", "/token", "/register"]
            .iter()
            .any(|p| r.path.ends_with(p))
}

/// Class 2: with the authorization server on another origin, nothing OAuth went to the MCP
/// server's origin, and the flow went to the one `authorization_servers` names.
pub fn authorization_server_from_metadata(log: &[AccessRecord]) -> Check {
    const NAME: &str = AUTHORIZATION_SERVER_FROM_METADATA;
    let misdirected: Vec<String> = log
        .iter()
        .filter(|r| is_authorization_server_request(r))
        .map(|r| format!("{} (MCP origin)", evidence_line(r)))
        .collect();
    let on_authorization_server: Vec<String> = log
        .iter()
        .filter(|r| r.on_authorization_server && r.phase != Phase::Admin)
        .map(|r| format!("{} (authorization-server origin)", evidence_line(r)))
        .collect();
    let reached = log
        .iter()
        .any(|r| r.on_authorization_server && is_authorize(r));
    let mut evidence = misdirected.clone();
    evidence.extend(on_authorization_server);
    if !misdirected.is_empty() {
        Check::fail(
            NAME,
            format!(
                "{} request(s) meant for the authorization server went to the MCP server's \
                 origin instead of the one authorization_servers names (MCP Authorization › \
                 Authorization Server Location; RFC 9728 §2)",
                misdirected.len()
            ),
            evidence,
        )
    } else if !reached {
        Check::fail(
            NAME,
            "the client never sent an authorization request to the authorization server that \
             authorization_servers names (MCP Authorization › Authorization Server Location; \
             RFC 9728 §2)",
            evidence,
        )
    } else {
        Check::pass(
            NAME,
            "metadata, registration, authorization and token requests all went to the \
             authorization server's own origin, as authorization_servers named it (MCP \
             Authorization › Authorization Server Location; RFC 9728 §2)",
            evidence,
        )
    }
}

fn same_url(a: &str, b: &str) -> bool {
    match (Url::parse(a), Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Class 4: every authorization and token request named the MCP server as its `resource`.
pub fn resource_indicator(log: &[AccessRecord], config: &ServerConfig) -> Check {
    const NAME: &str = RESOURCE_INDICATOR;
    if first_authorize(log).is_none() {
        return no_authorization_request(NAME, log);
    }
    let resource = config.resource();
    let judged: Vec<&AccessRecord> = log
        .iter()
        .filter(|r| is_authorize(r) || r.phase == Phase::Token)
        .collect();
    let wrong: Vec<String> = judged
        .iter()
        .filter(|r| {
            !r.resource
                .as_deref()
                .is_some_and(|x| same_url(x, &resource))
        })
        .map(|r| evidence_with(r, "resource", r.resource.as_deref()))
        .collect();
    let evidence: Vec<String> = judged
        .iter()
        .map(|r| evidence_with(r, "resource", r.resource.as_deref()))
        .collect();
    if wrong.is_empty() {
        Check::pass(
            NAME,
            format!(
                "all {} authorization and token request(s) named resource={resource} (MCP \
                 Authorization › Resource Parameter Implementation; RFC 8707 §2)",
                judged.len()
            ),
            evidence,
        )
    } else {
        Check::fail(
            NAME,
            format!(
                "{} of {} authorization and token request(s) did not name resource={resource}: \
                 clients MUST send it in both (MCP Authorization › Resource Parameter \
                 Implementation; RFC 8707 §2)",
                wrong.len(),
                judged.len()
            ),
            wrong,
        )
    }
}

fn is_invalid_client(r: &AccessRecord) -> bool {
    r.error
        .as_deref()
        .is_some_and(|e| e.contains("invalid_client"))
}

/// Class 5: a client registers once and keeps its client ID, and registers again only after
/// the server refused it with `invalid_client`.
pub fn registration_reused(log: &[AccessRecord]) -> Check {
    const NAME: &str = REGISTRATION_REUSED;
    let relevant: Vec<&AccessRecord> = log
        .iter()
        .filter(|r| {
            (r.phase == Phase::Registration && r.status == 201)
                || is_invalid_client(r)
                || is_authorize(r)
        })
        .collect();
    let evidence: Vec<String> = relevant.iter().map(|r| evidence_line(r)).collect();
    let mut registered = 0;
    let mut refused_since_last = false;
    let mut needless = Vec::new();
    let mut refusal_unanswered = None;
    for r in &relevant {
        if r.phase == Phase::Registration {
            if registered > 0 && !refused_since_last {
                needless.push(evidence_line(r));
            }
            registered += 1;
            refused_since_last = false;
            refusal_unanswered = None;
        } else if is_invalid_client(r) {
            refused_since_last = true;
            refusal_unanswered = Some(evidence_line(r));
        }
    }
    if registered == 0 {
        return Check::fail(
            NAME,
            "the client never registered with the server's registration endpoint (MCP \
             Authorization › Dynamic Client Registration; RFC 7591 §3)",
            evidence,
        );
    }
    if !needless.is_empty() {
        return Check::fail(
            NAME,
            format!(
                "the client registered {registered} times; {} registration(s) came while its \
                 earlier client ID was still good (no invalid_client in between): a client \
                 keeps its registration (MCP Authorization › Dynamic Client Registration; \
                 RFC 7591 §3)",
                needless.len()
            ),
            evidence,
        );
    }
    if let Some(refusal) = refusal_unanswered {
        return Check::fail(
            NAME,
            format!(
                "the server refused the client ({refusal}) and it never registered again \
                 (RFC 6749 §5.2 invalid_client; MCP Authorization › Dynamic Client Registration)"
            ),
            evidence,
        );
    }
    Check::pass(
        NAME,
        format!(
            "{registered} registration(s), each the first or after an invalid_client refusal \
             (MCP Authorization › Dynamic Client Registration; RFC 7591 §3)"
        ),
        evidence,
    )
}

/// Class 5 for a server without registration: the client used the client ID it was given.
pub fn given_client_id_used(log: &[AccessRecord]) -> Check {
    const NAME: &str = GIVEN_CLIENT_ID_USED;
    let judged = client_id_requests(log);
    let evidence: Vec<String> = judged.iter().map(|r| evidence_line(r)).collect();
    if judged.iter().all(|r| !is_authorize(r)) {
        return no_authorization_request(NAME, log);
    }
    let wrong: Vec<String> = judged
        .iter()
        .filter(|r| r.client_id.as_deref() != Some(PRE_REGISTERED_CLIENT_ID))
        .map(|r| evidence_with(r, "client_id", r.client_id.as_deref()))
        .collect();
    if wrong.is_empty() {
        Check::pass(
            NAME,
            format!(
                "the server has no registration endpoint; every authorization and token request \
                 used the client ID the client was given ({PRE_REGISTERED_CLIENT_ID}) (MCP \
                 Authorization › client registration: pre-registration; RFC 8414 §2 \
                 registration_endpoint is optional)"
            ),
            evidence,
        )
    } else {
        Check::fail(
            NAME,
            format!(
                "the client was given the client ID {PRE_REGISTERED_CLIENT_ID} (the server has no \
                 registration endpoint) but {} request(s) used another or tried to register \
                 (MCP Authorization › client registration: pre-registration)",
                wrong.len()
            ),
            wrong,
        )
    }
}

/// Class 5 with client ID metadata documents: the client's ID was a document URL (HTTPS, with a
/// path), the same in every authorization and token request, and it never tried to register.
pub fn client_id_metadata_used(log: &[AccessRecord], config: &ServerConfig) -> Check {
    const NAME: &str = CLIENT_ID_METADATA_USED;
    let judged = client_id_requests(log);
    if judged.iter().all(|r| !is_authorize(r)) {
        return no_authorization_request(NAME, log);
    }
    let show = |r: &AccessRecord| evidence_with(r, "client_id", r.client_id.as_deref());
    let evidence: Vec<String> = judged.iter().map(|r| show(r)).collect();
    let is_document_url = |id: &str| {
        Url::parse(id).is_ok_and(|u| u.scheme() == "https" && u.path() != "/")
            && mock_server::discovery::Discovery::own_client_metadata(
                id,
                config.authorization_server_origin(),
            )
            .is_some()
    };
    let first = judged.iter().find_map(|r| r.client_id.clone());
    let wrong: Vec<String> = judged
        .iter()
        .filter(|r| !r.client_id.as_deref().is_some_and(is_document_url) || r.client_id != first)
        .map(|r| show(r))
        .collect();
    if wrong.is_empty() {
        Check::pass(
            NAME,
            format!(
                "the server offers client ID metadata documents and no registration; every                  authorization and token request used one document URL as client_id ({}) (MCP                  2025-11-25 Authorization › Client ID Metadata Documents)",
                first.unwrap_or_default()
            ),
            evidence,
        )
    } else {
        Check::fail(
            NAME,
            format!(
                "the server offers client ID metadata documents (client_id_metadata_document_supported)                  and no registration endpoint, but {} request(s) used no HTTPS document URL of this                  server as client_id, or changed it (MCP 2025-11-25 Authorization › Client ID                  Metadata Documents)",
                wrong.len()
            ),
            wrong,
        )
    }
}

/// Class 6: the redirect URI at authorize is the registered one, and the token request repeats
/// it exactly.
pub fn redirect_uri_consistent(log: &[AccessRecord]) -> Check {
    const NAME: &str = REDIRECT_URI_CONSISTENT;
    let exchanges: Vec<&AccessRecord> = log
        .iter()
        .filter(|r| {
            r.phase == Phase::Token && r.grant_type.as_deref() == Some("authorization_code")
        })
        .collect();
    if exchanges.is_empty() {
        let refused: Vec<String> = log
            .iter()
            .filter(|r| is_authorize(r))
            .map(|r| evidence_with(r, "redirect_uri", r.redirect_uri.as_deref()))
            .collect();
        return Check::fail(
            NAME,
            "no authorization code was ever exchanged, so no redirect URI round trip completed",
            refused,
        );
    }
    let mut evidence = Vec::new();
    let mut problems = Vec::new();
    for token in exchanges {
        let authorize = log
            .iter()
            .rev()
            .find(|r| r.seq < token.seq && is_authorize(r) && r.client_id == token.client_id);
        let registered = log.iter().rev().find(|r| {
            r.seq < token.seq
                && r.phase == Phase::Registration
                && r.status == 201
                && r.client_id == token.client_id
        });
        let show = |r: &AccessRecord| evidence_with(r, "redirect_uri", r.redirect_uri.as_deref());
        for r in [registered, authorize, Some(token)].into_iter().flatten() {
            evidence.push(show(r));
        }
        let Some(authorize) = authorize else {
            problems.push(format!(
                "{}: no authorization request before it",
                show(token)
            ));
            continue;
        };
        if let Some(registered) = registered {
            if authorize.redirect_uri.is_some() && authorize.redirect_uri != registered.redirect_uri
            {
                problems.push(format!(
                    "authorize used {} but the client registered {}",
                    authorize.redirect_uri.as_deref().unwrap_or("-"),
                    registered.redirect_uri.as_deref().unwrap_or("-")
                ));
            }
        }
        if token.redirect_uri != authorize.redirect_uri {
            problems.push(format!(
                "the token request sent redirect_uri={} after authorize sent {}",
                token.redirect_uri.as_deref().unwrap_or("(none)"),
                authorize.redirect_uri.as_deref().unwrap_or("(none)")
            ));
        }
        if token
            .error
            .as_deref()
            .is_some_and(|e| e.contains("redirect_uri"))
        {
            problems.push(format!("the server refused it: {}", show(token)));
        }
    }
    if problems.is_empty() {
        Check::pass(
            NAME,
            "each code exchange repeated the redirect URI of its authorization request, which \
             was the registered one (OAuth 2.1 §4.1.1, §4.1.3; RFC 8252 §7.3)",
            evidence,
        )
    } else {
        let mut all = problems.clone();
        all.extend(evidence);
        Check::fail(
            NAME,
            format!(
                "{} redirect URI mismatch(es) (OAuth 2.1 §4.1.1, §4.1.3; RFC 8252 §7.3)",
                problems.len()
            ),
            all,
        )
    }
}

#[cfg(test)]
mod cold_state_tests {
    use super::*;
    use crate::checks::Verdict;
    use mock_server::discovery::{Discovery, ResourceMetadataAt};

    fn record(seq: u64, method: &str, path: &str, phase: Phase, status: u16) -> AccessRecord {
        serde_json::from_value(serde_json::json!({
            "seq": seq, "at_ms": 0, "method": method, "path": path, "phase": phase,
            "rpc_method": null, "rpc_id": null, "rpc_kind": null, "grant_type": null,
            "client_id": null, "bearer": {"status": "none"}, "session_id": null,
            "protocol_version": null, "accept": null, "user_agent": null, "status": status,
            "error": null
        }))
        .expect("an access record")
    }

    fn config(discovery: Discovery) -> ServerConfig {
        let mut config = ServerConfig::new("http://127.0.0.1:9").expect("a config");
        config.discovery = discovery;
        config
    }

    fn on_mcp_path() -> ServerConfig {
        config(Discovery {
            mcp_path: "/mcp".to_owned(),
            ..Discovery::default()
        })
    }

    /// Discovery at the path-specific well-known location (the challenge names the root one),
    /// then the authorization request; with or without a 401 first.
    fn log(challenge_first: bool, metadata: &str) -> Vec<AccessRecord> {
        let mut log = Vec::new();
        if challenge_first {
            log.push(record(0, "POST", "/mcp", Phase::Mcp, 401));
        }
        log.push(record(1, "GET", metadata, Phase::Discovery, 200));
        log.push(record(
            2,
            "GET",
            "/oauth/authorize",
            Phase::Authorization,
            200,
        ));
        log
    }

    #[test]
    fn a_client_that_met_the_challenge_must_read_the_url_it_named() {
        let check = resource_metadata_found(
            &log(true, "/.well-known/oauth-protected-resource/mcp"),
            &on_mcp_path(),
        );
        assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
    }

    #[test]
    fn a_cold_client_that_met_no_challenge_may_use_the_well_known_location() {
        let check = resource_metadata_found(
            &log(false, "/.well-known/oauth-protected-resource/mcp"),
            &on_mcp_path(),
        );
        assert_eq!(check.verdict, Verdict::Pass, "{check:?}");
        assert!(check.summary.contains("meeting no 401 challenge"));
    }

    #[test]
    fn a_cold_client_on_a_challenge_only_server_still_fails_when_it_never_asks_for_the_challenge() {
        let server = config(Discovery {
            resource_metadata_at: ResourceMetadataAt::ChallengeOnly,
            ..Discovery::default()
        });
        let check = resource_metadata_found(
            &log(false, "/.well-known/oauth-protected-resource"),
            &server,
        );
        assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
        assert!(check.summary.contains("without meeting a 401 challenge"));
    }
}
