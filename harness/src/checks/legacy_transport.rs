//! Failure class 7, a server that speaks only the older HTTP+SSE transport (MCP 2024-11-05): after
//! the OAuth flow, does the client fall back to it and reach the tools?
//!
//! The rule, MCP 2025-03-26 / 2025-06-18 / 2025-11-25, Basic › Transports › "Backwards
//! Compatibility": a client that wants to support older servers POSTs an `InitializeRequest` to
//! the server URL; "If it fails with an HTTP 4xx status code (e.g., 405 Method Not Allowed or 404
//! Not Found)", it issues a GET to the server URL, "expecting that this will open an SSE stream
//! and return an `endpoint` event as the first event", and then uses the old transport: every
//! message POSTed to the endpoint's URL (2024-11-05, Transports › "HTTP with SSE"), the
//! responses as `message` events on the stream.
//!
//! The mock's log has what the path needs: the refused POST (405, its JSON-RPC method), the
//! stream's GET (200, the stream id as `session_id`), and each message POSTed to the stream's URL
//! (202, the same `session_id`, its method and bearer). A message is accepted only when its
//! stream is still open, and its response is then sent on that stream, so a 202 is a response
//! delivered.

use mock_server::{AccessRecord, Phase};

use crate::checks::{evidence_line, is_authenticated, token_exchange, Check};

pub const FELL_BACK_TO_SSE: &str = "fell-back-to-sse";
pub const FALLBACK_WITHOUT_WASTE: &str = "sse-fallback-without-waste";

/// Refused POSTs to the server URL a fallback may take: two, as a dual-era client sends them (its
/// 2026-07-28 `server/discover` probe, then the `initialize` of the older revisions; Claude Code
/// 2.1.331 does so), or a probe and one retry, before it tries the GET.
pub const MAX_REFUSED_POSTS: usize = 2;
/// SSE streams a fallback may open: one, and one more after a stream that ended.
pub const MAX_STREAMS: usize = 2;

/// Whether the server refused a POST to its URL the way "Backwards Compatibility" falls back
/// on: a 4xx other than 401 (a 401 asks for a token, not another transport).
fn is_refused_post(r: &AccessRecord) -> bool {
    r.phase == Phase::Mcp
        && r.method == "POST"
        && (400..500).contains(&r.status)
        && r.status != 401
        && r.session_id.is_none()
}

fn is_stream(r: &AccessRecord) -> bool {
    r.phase == Phase::Mcp && r.method == "GET" && r.status == 200 && r.session_id.is_some()
}

/// A message POSTed to the stream `stream` opened (its URL, its id, a valid bearer).
fn is_message_of<'a>(stream: &'a AccessRecord) -> impl Fn(&&AccessRecord) -> bool + 'a {
    move |r| {
        r.phase == Phase::Mcp
            && r.method == "POST"
            && r.path != stream.path
            && r.session_id == stream.session_id
            && r.seq > stream.seq
    }
}

/// After the token: a refused POST (4xx), then a GET stream, then `initialize` and `tools/list`
/// POSTed to the stream's URL with the bearer and accepted (their responses sent on the
/// stream). Which step the client stopped at is the summary.
pub fn fell_back_to_sse(log: &[AccessRecord]) -> Check {
    let Some(token) = token_exchange(log) else {
        return Check::fail(
            FELL_BACK_TO_SSE,
            "no successful authorization_code grant: the client never held a token to fall back with",
            Vec::new(),
        );
    };
    let after: Vec<&AccessRecord> = log.iter().filter(|r| r.seq > token.seq).collect();
    let mut evidence = vec![evidence_line(token)];
    let Some(refused) = after
        .iter()
        .find(|r| is_refused_post(r) && is_authenticated(r))
    else {
        let mcp: Vec<String> = after
            .iter()
            .filter(|r| r.phase == Phase::Mcp)
            .take(8)
            .map(|r| evidence_line(r))
            .collect();
        evidence.extend(mcp);
        return Check::fail(
            FELL_BACK_TO_SSE,
            "after the token the client sent no authenticated POST that the server refused with a \
             4xx: it never tried the server (or only without its token)",
            evidence,
        );
    };
    evidence.push(evidence_line(refused));
    let Some(stream) = after
        .iter()
        .find(|r| r.seq > refused.seq && is_stream(r) && is_authenticated(r))
    else {
        let later: Vec<String> = after
            .iter()
            .filter(|r| r.seq > refused.seq && r.phase == Phase::Mcp)
            .take(6)
            .map(|r| evidence_line(r))
            .collect();
        evidence.extend(later);
        return Check::fail(
            FELL_BACK_TO_SSE,
            format!(
                "the server refused the POST with {} and the client never opened the SSE stream \
                 with a GET to the server URL (Transports › \"Backwards Compatibility\": after a \
                 4xx, GET the URL and expect an `endpoint` event): it never falls back to the \
                 HTTP+SSE transport",
                refused.status
            ),
            evidence,
        );
    };
    evidence.push(evidence_line(stream));
    let messages: Vec<&AccessRecord> = after
        .iter()
        .copied()
        .filter(is_message_of(stream))
        .collect();
    let accepted = |method: &str| {
        messages.iter().copied().find(|r| {
            r.rpc_method.as_deref() == Some(method) && r.status == 202 && is_authenticated(r)
        })
    };
    let initialize = accepted("initialize");
    let listed = initialize.and_then(|init| {
        messages.iter().copied().find(|r| {
            r.seq > init.seq
                && r.rpc_method.as_deref() == Some("tools/list")
                && r.status == 202
                && is_authenticated(r)
        })
    });
    match (initialize, listed) {
        (Some(init), Some(list)) => {
            evidence.push(evidence_line(init));
            evidence.push(evidence_line(list));
            Check::pass(
                FELL_BACK_TO_SSE,
                format!(
                    "after the token the POST was refused ({}), the client opened the SSE stream \
                     and POSTed initialize and tools/list to the endpoint's URL with its bearer; \
                     both were accepted and answered on the stream",
                    refused.status
                ),
                evidence,
            )
        }
        (init, _) => {
            evidence.extend(messages.iter().take(6).map(|r| evidence_line(r)));
            let missing = if init.is_none() {
                "no accepted authenticated initialize"
            } else {
                "an initialize but no accepted authenticated tools/list after it"
            };
            Check::fail(
                FELL_BACK_TO_SSE,
                format!(
                    "the client opened the SSE stream, but POSTed {missing} to the endpoint's URL \
                     ({} message(s) to it in all): it never reached the tools over HTTP+SSE",
                    messages.len()
                ),
                evidence,
            )
        }
    }
}

/// The whole path after the token, for waste: at most [`MAX_REFUSED_POSTS`] refused POSTs to
/// the server URL (no POST-405 loop), at most [`MAX_STREAMS`] SSE streams (no storm of GETs),
/// and no message refused on the old transport.
pub fn fallback_without_waste(log: &[AccessRecord]) -> Check {
    let after: Vec<&AccessRecord> = match token_exchange(log) {
        Some(token) => log.iter().filter(|r| r.seq > token.seq).collect(),
        None => log.iter().collect(),
    };
    let refused: Vec<&AccessRecord> = after
        .iter()
        .copied()
        .filter(|r| is_refused_post(r))
        .collect();
    let streams: Vec<&AccessRecord> = after.iter().copied().filter(|r| is_stream(r)).collect();
    let refused_messages: Vec<&AccessRecord> = streams
        .iter()
        .flat_map(|stream| {
            after
                .iter()
                .copied()
                .filter(is_message_of(stream))
                .filter(|r| r.status != 202)
        })
        .collect();
    let mut problems = Vec::new();
    if refused.len() > MAX_REFUSED_POSTS {
        problems.push(format!(
            "{} POSTs to the server URL refused (at most {MAX_REFUSED_POSTS}: a probe and an \
             initialize): a loop on the 4xx",
            refused.len()
        ));
    }
    if streams.len() > MAX_STREAMS {
        problems.push(format!(
            "{} SSE streams opened (at most {MAX_STREAMS})",
            streams.len()
        ));
    }
    if !refused_messages.is_empty() {
        problems.push(format!(
            "{} message(s) to the endpoint's URL refused",
            refused_messages.len()
        ));
    }
    let evidence: Vec<String> = refused
        .iter()
        .chain(streams.iter())
        .chain(refused_messages.iter())
        .take(12)
        .map(|r| evidence_line(r))
        .collect();
    if problems.is_empty() {
        Check::pass(
            FALLBACK_WITHOUT_WASTE,
            format!(
                "after the token: {} refused POST(s), {} SSE stream(s), no refused message",
                refused.len(),
                streams.len()
            ),
            evidence,
        )
    } else {
        Check::fail(FALLBACK_WITHOUT_WASTE, problems.join("; "), evidence)
    }
}

/// The class's checks, in the order reports show them.
pub fn legacy_transport_checks(log: &[AccessRecord]) -> Vec<Check> {
    vec![fell_back_to_sse(log), fallback_without_waste(log)]
}

#[cfg(test)]
mod tests {
    use mock_server::Bearer;

    use super::*;
    use crate::checks::Verdict;

    /// A record with nothing but what the test names.
    fn blank(method: &str, path: &str, phase: Phase) -> AccessRecord {
        let mut r = crate::checks::test_record(0, method, path, 0);
        r.phase = phase;
        r
    }

    fn record(seq: u64, method: &str, path: &str, rpc: Option<&str>, status: u16) -> AccessRecord {
        let mut r = blank(method, path, Phase::Mcp);
        r.seq = seq;
        r.rpc_method = rpc.map(str::to_owned);
        r.status = status;
        r.bearer = Bearer::Valid {
            token_id: "at-1".to_owned(),
        };
        r
    }

    fn token(seq: u64) -> AccessRecord {
        let mut r = blank("POST", "/token", Phase::Token);
        r.seq = seq;
        r.grant_type = Some("authorization_code".to_owned());
        r.status = 200;
        r
    }

    fn in_stream(mut r: AccessRecord) -> AccessRecord {
        r.session_id = Some("s-1".to_owned());
        r
    }

    /// What a client that falls back sends: token, the refused POST, the stream, the messages.
    fn fallback() -> Vec<AccessRecord> {
        vec![
            token(1),
            record(2, "POST", "/", Some("initialize"), 405),
            in_stream(record(3, "GET", "/", None, 200)),
            in_stream(record(4, "POST", "/messages", Some("initialize"), 202)),
            in_stream(record(
                5,
                "POST",
                "/messages",
                Some("notifications/initialized"),
                202,
            )),
            in_stream(record(6, "POST", "/messages", Some("tools/list"), 202)),
        ]
    }

    #[test]
    fn a_client_that_falls_back_passes_both_checks() {
        let checks = legacy_transport_checks(&fallback());
        assert!(
            checks.iter().all(|c| c.verdict == Verdict::Pass),
            "{checks:#?}"
        );
    }

    #[test]
    fn a_client_that_never_gets_after_the_405_fails_the_fallback() {
        let log: Vec<AccessRecord> = fallback().into_iter().take(2).collect();
        let check = fell_back_to_sse(&log);
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(
            check.summary.contains("never opened the SSE stream"),
            "{check:?}"
        );
    }

    #[test]
    fn a_stream_without_tools_list_fails_the_fallback() {
        let log: Vec<AccessRecord> = fallback().into_iter().take(5).collect();
        let check = fell_back_to_sse(&log);
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(
            check
                .summary
                .contains("no accepted authenticated tools/list"),
            "{check:?}"
        );
    }

    #[test]
    fn messages_without_the_bearer_do_not_count() {
        let mut log = fallback();
        for r in log.iter_mut().filter(|r| r.path == "/messages") {
            r.bearer = Bearer::None;
            r.status = 401;
        }
        let checks = legacy_transport_checks(&log);
        assert_eq!(checks[0].verdict, Verdict::Fail);
        assert_eq!(
            checks[1].verdict,
            Verdict::Fail,
            "refused messages are waste"
        );
    }

    #[test]
    fn a_post_405_loop_or_a_storm_of_streams_is_waste() {
        let mut looped = fallback();
        for seq in 7..10 {
            looped.push(record(seq, "POST", "/", Some("initialize"), 405));
        }
        assert_eq!(fallback_without_waste(&looped).verdict, Verdict::Fail);
        let mut storm = fallback();
        for seq in 7..10 {
            let mut r = in_stream(record(seq, "GET", "/", None, 200));
            r.session_id = Some(format!("s-{seq}"));
            storm.push(r);
        }
        let check = fallback_without_waste(&storm);
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(check.summary.contains("SSE streams"), "{check:?}");
    }

    #[test]
    fn without_a_token_nothing_is_judged_a_fallback() {
        let log: Vec<AccessRecord> = fallback().into_iter().skip(1).collect();
        assert_eq!(fell_back_to_sse(&log).verdict, Verdict::Fail);
    }
}
