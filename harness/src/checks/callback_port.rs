//! Failure class 2, the callback: the client's fixed (or configured) loopback callback port is
//! already taken by another process when the login starts. A client must not hang: it says so
//! clearly (the port, "in use", EADDRINUSE), or it listens on another port and registers that
//! one (RFC 8252 §7.3: the server must accept any loopback port).

use mock_server::{AccessRecord, Phase};
use url::Url;

use crate::checks::{evidence_line, Check};

pub const PORT_CONFLICT_HANDLED: &str = "callback-port-conflict-handled";
pub const CONFIGURED_PORT_HONOURED: &str = "configured-callback-port-honoured";

/// How the login ended, as the driver saw it.
#[derive(Debug, Clone)]
pub enum LoginEnd {
    /// The client said it finished: `succeeded`, and what it printed.
    Reported { succeeded: bool, message: String },
    /// Nothing finished within the driver's bounded wait: what it waited for, and the client's
    /// last screen (where it may have said why).
    TimedOut { what: String, screen: String },
}

fn port_of(uri: &str) -> Option<u16> {
    Url::parse(uri).ok().and_then(|u| u.port_or_known_default())
}

/// Failure class 2, a callback port the person configured (opencode's `oauth.callbackPort`,
/// mcp-remote's port argument …): every redirect URI the client registers, authorizes with or
/// repeats at the token endpoint is on that port. A pre-registered redirect URI has the port the
/// person chose; a client that picks another breaks the login it was configured for (RFC 8252
/// §7.3 lets the server accept any port, not the client ignore its configuration). A run that
/// sent no redirect URI passes with that said (`token-exchanged` judges whether it logged in).
pub fn configured_port_honoured(log: &[AccessRecord], configured: u16) -> Check {
    let sent: Vec<(&AccessRecord, &str)> = log
        .iter()
        .filter_map(|r| r.redirect_uri.as_deref().map(|u| (r, u)))
        .collect();
    let elsewhere: Vec<String> = sent
        .iter()
        .filter(|(_, uri)| port_of(uri) != Some(configured))
        .map(|(r, uri)| format!("{} redirect_uri={uri}", evidence_line(r)))
        .collect();
    if !elsewhere.is_empty() {
        return Check::fail(
            CONFIGURED_PORT_HONOURED,
            format!(
                "the callback port was configured as {configured}, but {} request(s) named a \
                 redirect URI on another port",
                elsewhere.len()
            ),
            elsewhere,
        );
    }
    let evidence = sent
        .iter()
        .take(4)
        .map(|(r, uri)| format!("{} redirect_uri={uri}", evidence_line(r)))
        .collect();
    let summary = if sent.is_empty() {
        format!("no request named a redirect URI (the configured callback port: {configured})")
    } else {
        format!(
            "all {} redirect URI(s) the client sent are on the configured port {configured}",
            sent.len()
        )
    };
    Check::pass(CONFIGURED_PORT_HONOURED, summary, evidence)
}

/// Words that tell a person the port is the problem (not the bare number: it is in every
/// redirect URI the client prints).
fn names_the_conflict(message: &str) -> bool {
    let lower = message.to_lowercase();
    lower.contains("in use") || lower.contains("eaddrinuse") || lower.contains("address already")
}

/// The screen's lines that name the conflict, without the box drawing around them.
fn screen_lines_naming_the_conflict(screen: &str) -> Vec<String> {
    screen
        .lines()
        .filter(|l| names_the_conflict(l))
        .map(|l| {
            format!(
                "screen: {}",
                l.trim_matches(|c: char| c == '│' || c.is_whitespace())
            )
        })
        .collect()
}

pub fn port_conflict_handled(log: &[AccessRecord], held: u16, end: &LoginEnd) -> Check {
    let redirects: Vec<&AccessRecord> = log
        .iter()
        .filter(|r| {
            matches!(r.phase, Phase::Registration | Phase::Authorization)
                && r.redirect_uri.is_some()
        })
        .collect();
    let mut evidence: Vec<String> = redirects.iter().map(|r| evidence_line(r)).collect();
    let exchanged = log.iter().any(|r| {
        r.phase == Phase::Token
            && r.grant_type.as_deref() == Some("authorization_code")
            && r.status == 200
    });
    let other_port = redirects
        .iter()
        .filter_map(|r| r.redirect_uri.as_deref().and_then(port_of))
        .find(|p| *p != held);
    // The person was sent to consent with a redirect to the port another process holds: the
    // code goes to that process (PKCE keeps it from redeeming it, RFC 8252 §8.1, but the
    // client can never finish this login). Saying "in use" on screen does not undo that.
    let authorized_to_held = log.iter().any(|r| {
        r.phase == Phase::Authorization && r.redirect_uri.as_deref().and_then(port_of) == Some(held)
    });
    let told = match end {
        LoginEnd::TimedOut { screen, .. } => names_the_conflict(screen),
        LoginEnd::Reported {
            succeeded: false,
            message,
        } => names_the_conflict(message),
        LoginEnd::Reported { .. } => false,
    };
    if told && authorized_to_held {
        if let LoginEnd::TimedOut { what, screen } = end {
            evidence.push(what.clone());
            evidence.extend(screen_lines_naming_the_conflict(screen));
        } else if let LoginEnd::Reported { message, .. } = end {
            evidence.push(format!("client: {message}"));
        }
        return Check::fail(
            PORT_CONFLICT_HANDLED,
            format!(
                "the client said port {held} is taken, yet sent the browser to authorize with a \
                 redirect to it: the person consented and the code went to the other process \
                 listening there (the login could never finish; stop before the browser, or \
                 listen on another port and register that one, RFC 8252 §7.3)"
            ),
            evidence,
        );
    }
    match end {
        LoginEnd::TimedOut { what, screen } if names_the_conflict(screen) => {
            evidence.push(what.clone());
            evidence.extend(screen_lines_naming_the_conflict(screen));
            Check::pass(
                PORT_CONFLICT_HANDLED,
                format!("the client said on screen that port {held} is taken"),
                evidence,
            )
        }
        LoginEnd::TimedOut { what, .. } => {
            evidence.push(what.clone());
            Check::fail(
                PORT_CONFLICT_HANDLED,
                format!(
                    "with its callback port {held} taken by another process the login hung: \
                     nothing within the bounded wait, no error and no other port"
                ),
                evidence,
            )
        }
        LoginEnd::Reported {
            succeeded: true,
            message,
        } => {
            evidence.push(format!("client: {message}"));
            match other_port {
                Some(port) if exchanged => Check::pass(
                    PORT_CONFLICT_HANDLED,
                    format!(
                        "port {held} was taken, so the client listened on {port}, registered \
                         that redirect URI and finished the login (RFC 8252 §7.3)"
                    ),
                    evidence,
                ),
                _ => Check::fail(
                    PORT_CONFLICT_HANDLED,
                    format!(
                        "the client reported success with its callback port {held} taken, but no \
                         code was exchanged through another registered port"
                    ),
                    evidence,
                ),
            }
        }
        LoginEnd::Reported {
            succeeded: false,
            message,
        } => {
            evidence.push(format!("client: {message}"));
            if names_the_conflict(message) {
                Check::pass(
                    PORT_CONFLICT_HANDLED,
                    format!(
                        "the client stopped with an error that names the conflict on port {held}"
                    ),
                    evidence,
                )
            } else {
                Check::fail(
                    PORT_CONFLICT_HANDLED,
                    format!(
                        "the login failed with port {held} taken, but the client's message names \
                         neither the port nor the conflict"
                    ),
                    evidence,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Verdict;

    fn record(seq: u64, phase: Phase, grant: Option<&str>, redirect: Option<&str>) -> AccessRecord {
        serde_json::from_value(serde_json::json!({
            "seq": seq, "at_ms": 0, "method": "POST", "path": "/oauth/x", "phase": phase,
            "rpc_method": null, "rpc_id": null, "rpc_kind": null, "grant_type": grant,
            "client_id": null, "bearer": {"status": "none"}, "session_id": null,
            "protocol_version": null, "accept": null, "user_agent": null, "status": 200,
            "error": null, "redirect_uri": redirect
        }))
        .expect("an access record")
    }

    fn failed(message: &str) -> LoginEnd {
        LoginEnd::Reported {
            succeeded: false,
            message: message.to_owned(),
        }
    }

    #[test]
    fn a_clear_error_or_another_registered_port_passes() {
        let told = LoginEnd::TimedOut {
            what: "the redirect was not answered".to_owned(),
            screen: "│ listen EADDRINUSE: address already in use 127.0.0.1:7777 │".to_owned(),
        };
        assert_eq!(
            port_conflict_handled(&[], 7777, &told).verdict,
            Verdict::Pass
        );
        let end = failed("Error: listen EADDRINUSE: address already in use 127.0.0.1:7777");
        assert_eq!(
            port_conflict_handled(&[], 7777, &end).verdict,
            Verdict::Pass
        );
        let log = [
            record(
                1,
                Phase::Registration,
                None,
                Some("http://localhost:50123/oauth/callback"),
            ),
            record(2, Phase::Token, Some("authorization_code"), None),
        ];
        let end = LoginEnd::Reported {
            succeeded: true,
            message: "authenticated".to_owned(),
        };
        assert_eq!(
            port_conflict_handled(&log, 7777, &end).verdict,
            Verdict::Pass
        );
    }

    #[test]
    fn saying_the_port_is_taken_but_sending_the_browser_there_anyway_fails() {
        let told = LoginEnd::TimedOut {
            what: "the redirect was not answered".to_owned(),
            screen: "│ listen EADDRINUSE: address already in use 127.0.0.1:7777 │".to_owned(),
        };
        let registered_only = [record(
            1,
            Phase::Registration,
            None,
            Some("http://localhost:7777/oauth/callback"),
        )];
        assert_eq!(
            port_conflict_handled(&registered_only, 7777, &told).verdict,
            Verdict::Pass,
            "registering the fixed port sends no one anywhere"
        );
        let authorized = [
            registered_only[0].clone(),
            record(
                2,
                Phase::Authorization,
                None,
                Some("http://localhost:7777/oauth/callback"),
            ),
        ];
        let check = port_conflict_handled(&authorized, 7777, &told);
        assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
        assert!(check.summary.contains("yet sent the browser"), "{check:?}");
        let stopped = failed("Error: listen EADDRINUSE: address already in use 127.0.0.1:7777");
        assert_eq!(
            port_conflict_handled(&authorized, 7777, &stopped).verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn a_hang_a_silent_failure_or_success_on_the_taken_port_fails() {
        let hung = LoginEnd::TimedOut {
            what: "the browser was never opened (60 s)".to_owned(),
            screen: "Waiting for authorization… http://localhost:7777/oauth/callback".to_owned(),
        };
        assert_eq!(
            port_conflict_handled(&[], 7777, &hung).verdict,
            Verdict::Fail
        );
        let silent = failed("Authentication failed.");
        assert_eq!(
            port_conflict_handled(&[], 7777, &silent).verdict,
            Verdict::Fail
        );
        let same = [
            record(
                1,
                Phase::Registration,
                None,
                Some("http://localhost:7777/oauth/callback"),
            ),
            record(2, Phase::Token, Some("authorization_code"), None),
        ];
        let end = LoginEnd::Reported {
            succeeded: true,
            message: "authenticated".to_owned(),
        };
        assert_eq!(
            port_conflict_handled(&same, 7777, &end).verdict,
            Verdict::Fail
        );
    }

    #[test]
    fn redirect_uris_on_the_configured_port_pass_and_one_elsewhere_fails() {
        let with = |seq, uri: &str| {
            let mut r = crate::checks::test_record(seq, "GET", "/oauth/authorize", 302);
            r.redirect_uri = Some(uri.to_owned());
            r
        };
        let honoured = [
            with(1, "http://127.0.0.1:4321/callback"),
            with(2, "http://127.0.0.1:4321/callback"),
        ];
        assert_eq!(
            configured_port_honoured(&honoured, 4321).verdict,
            Verdict::Pass
        );
        let ignored = [
            with(1, "http://127.0.0.1:4321/callback"),
            with(2, "http://localhost:19876/callback"),
        ];
        let check = configured_port_honoured(&ignored, 4321);
        assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
        assert!(check.evidence[0].contains("19876"), "{check:?}");
        assert_eq!(configured_port_honoured(&[], 4321).verdict, Verdict::Pass);
    }
}
