//! One authorization per user action (Step 16, "wasted or duplicated work is a failure"). A login
//! path is one thing the user does (`/mcp` → Authenticate, `mcp login`, the authenticate tool, a
//! run that logs in at the 401): the client owes it one authorization request in the browser and
//! one authorization-code exchange. Two browser windows for one action (two connection attempts
//! each starting its own flow, a flow restarted while the first is still open) make the user
//! consent twice, and a second code exchange throws away the first token set.
//!
//! The rule: OAuth 2.1 §4.1 (one authorization request, one code, one exchange per grant) and MCP
//! Authorization › "Authorization Flow Steps" (the client opens the browser once with the
//! authorization URL). A second authorization is earned only by the first one failing: an error
//! from the authorization endpoint or a refused exchange in the access log between the two.

use mock_server::{AccessRecord, Phase};

use crate::checks::{evidence_line, Check};

pub const ONE_AUTHORIZATION_PER_LOGIN: &str = "one-authorization-per-login";

fn is_code_exchange(r: &AccessRecord) -> bool {
    r.phase == Phase::Token && r.grant_type.as_deref() == Some("authorization_code")
}

/// An authorization that went wrong on the server's side, which earns the client another try:
/// a refused authorization request (an error status, or a redirect back with `error=`), a
/// refused registration or a refused code exchange.
fn is_authorization_failure(r: &AccessRecord) -> bool {
    let refused = r.status >= 400;
    match r.phase {
        Phase::Authorization => refused || r.error.is_some(),
        Phase::Registration => refused,
        Phase::Token => refused && is_code_exchange(r),
        _ => false,
    }
}

/// Judges one login action: `opened` are the URLs the client asked the browser to open during
/// it, in order (the scripted browser's log), `log` the access log of the whole run.
pub fn one_authorization_per_login(opened: &[String], log: &[AccessRecord]) -> Check {
    let exchanges: Vec<&AccessRecord> = log
        .iter()
        .filter(|r| is_code_exchange(r) && r.status == 200)
        .collect();
    let failures: Vec<&AccessRecord> = log.iter().filter(|r| is_authorization_failure(r)).collect();
    let mut evidence: Vec<String> = opened
        .iter()
        .enumerate()
        .map(|(i, url)| format!("browser asked to open #{}: {}", i + 1, shorten(url)))
        .collect();
    evidence.extend(exchanges.iter().map(|r| evidence_line(r)));
    evidence.extend(failures.iter().take(6).map(|r| evidence_line(r)));
    // Each authorization after the first must follow a failure of the one before it.
    let unearned_windows = opened
        .len()
        .saturating_sub(1)
        .saturating_sub(failures.len());
    let unearned_exchanges = exchanges.len().saturating_sub(1);
    if unearned_exchanges > 0 {
        return Check::fail(
            ONE_AUTHORIZATION_PER_LOGIN,
            format!(
                "one login, {} successful authorization-code exchanges: the user's consent was \
                 used to mint {} token sets where one is enough (OAuth 2.1 §4.1)",
                exchanges.len(),
                exchanges.len()
            ),
            evidence,
        );
    }
    if unearned_windows > 0 {
        return Check::fail(
            ONE_AUTHORIZATION_PER_LOGIN,
            format!(
                "one login, the browser asked to open {} authorization URLs with {} failed \
                 authorization(s) between them: the user would consent {} times for one action",
                opened.len(),
                failures.len(),
                opened.len()
            ),
            evidence,
        );
    }
    let summary = match (opened.len(), exchanges.len()) {
        (0, 0) => "no authorization in the browser and no code exchange in this login".to_owned(),
        (0 | 1, _) => {
            "at most one authorization URL opened and at most one code exchanged".to_owned()
        }
        (windows, _) => format!(
            "{windows} authorization URLs, each after one that failed, and at most one code \
             exchanged"
        ),
    };
    Check::pass(ONE_AUTHORIZATION_PER_LOGIN, summary, evidence)
}

/// The URLs the client asked the scripted browser to open, from its log (one per line, the URL
/// among any other words the client passed).
pub fn opened_urls(browser_log: &str) -> Vec<String> {
    browser_log
        .lines()
        .filter_map(|line| {
            line.split_whitespace()
                .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        })
        .map(str::to_owned)
        .collect()
}

/// An authorization URL's origin, path and the parameters a reader compares (`state`), not its
/// whole query.
fn shorten(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            let state = u
                .query_pairs()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| format!(" state={v}"))
                .unwrap_or_default();
            format!("{}{}{state}", u.origin().ascii_serialization(), u.path())
        }
        Err(_) => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Verdict;

    fn record(
        seq: u64,
        method: &str,
        path: &str,
        grant: Option<&str>,
        status: u16,
    ) -> AccessRecord {
        let mut r = crate::checks::test_record(seq, method, path, status);
        r.grant_type = grant.map(str::to_owned);
        r
    }

    fn url(state: &str) -> String {
        format!("http://127.0.0.1:9/oauth/authorize?client_id=c&state={state}")
    }

    #[test]
    fn one_window_and_one_exchange_pass() {
        let log = [
            record(1, "GET", "/oauth/authorize", None, 200),
            record(2, "POST", "/oauth/token", Some("authorization_code"), 200),
        ];
        let check = one_authorization_per_login(&[url("a")], &log);
        assert_eq!(check.verdict, Verdict::Pass, "{check:?}");
    }

    #[test]
    fn two_windows_for_one_login_fail() {
        let log = [
            record(1, "GET", "/oauth/authorize", None, 200),
            record(2, "POST", "/oauth/token", Some("authorization_code"), 200),
        ];
        let check = one_authorization_per_login(&[url("a"), url("b")], &log);
        assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
        assert!(check.summary.contains("2 authorization URLs"), "{check:?}");
    }

    #[test]
    fn two_code_exchanges_for_one_login_fail() {
        let log = [
            record(1, "GET", "/oauth/authorize", None, 200),
            record(2, "POST", "/oauth/token", Some("authorization_code"), 200),
            record(3, "POST", "/oauth/token", Some("authorization_code"), 200),
        ];
        let check = one_authorization_per_login(&[url("a")], &log);
        assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
    }

    #[test]
    fn a_second_window_after_a_refused_authorization_is_earned() {
        let log = [
            record(1, "GET", "/oauth/authorize", None, 400),
            record(2, "POST", "/oauth/register", None, 201),
            record(3, "GET", "/oauth/authorize", None, 200),
            record(4, "POST", "/oauth/token", Some("authorization_code"), 200),
        ];
        let check = one_authorization_per_login(&[url("a"), url("b")], &log);
        assert_eq!(check.verdict, Verdict::Pass, "{check:?}");
    }

    #[test]
    fn the_browser_log_yields_the_urls_among_other_words() {
        let urls =
            opened_urls("--new-window http://127.0.0.1:1/oauth/authorize?x=1\n\nhttps://a/b\n");
        assert_eq!(
            urls,
            vec!["http://127.0.0.1:1/oauth/authorize?x=1", "https://a/b"]
        );
    }
}
