//! A run with a pre-issued token (`--bearer-file`): the server's authorization never ran, so
//! the checks that judge how the client went through it have nothing to judge. They become
//! "not applicable" with that reason, and the evidence they had; the others stand.

use super::{Check, Verdict};

/// The checks about the OAuth flow: discovery, registration, the token exchange, the token's
/// use and renewal, the client's login state.
pub const OAUTH_CHECKS: &[&str] = &[
    "resource-metadata-found",
    "authorization-server-from-metadata",
    "server-metadata-found",
    "resource-indicator",
    "registration-reused",
    "given-client-id-used",
    "client-id-metadata-used",
    "redirect-uri-consistent",
    super::TOKEN_EXCHANGED,
    super::REINITIALIZED_AFTER_TOKEN,
    super::TOOLS_LISTED_AFTER_TOKEN,
    super::BEARER_ON_EVERY_REQUEST,
    "authenticate-tool-offered",
    "needs-auth-cleared",
    "stored-token-reused",
    "stored-token-initialize",
    "no-rotated-refresh-reuse",
    "scope-stepped-up",
    "no-refresh-storm",
    // The server lints of the OAuth side (`lints::oauth`, `lints::http`): named here, not
    // imported, as checks sit below lints.
    "metadata-issuer-matches-url",
    "metadata-resource-matches-url",
    "resource-metadata-names-authorization-servers",
    "metadata-advertises-pkce-s256",
    "token-response-no-store",
    "unauthorized-challenge",
    "token-error-json",
    "registration-response",
];

pub const REASON: &str = "--bearer-file: the proxy added a pre-issued token to every MCP \
request, so the server's authorization (discovery, registration, token exchange, refresh) never \
ran and this OAuth check or lint has nothing to judge";

/// Marks the OAuth checks of `checks` not applicable, keeping their evidence under the reason.
pub fn mark_oauth_not_applicable(checks: &mut [Check]) -> usize {
    let mut marked = 0;
    for check in checks
        .iter_mut()
        .filter(|c| OAUTH_CHECKS.contains(&c.name.as_str()))
    {
        let was = format!("(judged {}: {})", check.verdict.as_str(), check.summary);
        check.verdict = Verdict::NotApplicable;
        check.summary = REASON.to_owned();
        check.evidence.insert(0, was);
        marked += 1;
    }
    marked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_checks_become_not_applicable_and_the_others_stand() {
        let mut checks = vec![
            Check::fail(super::super::TOKEN_EXCHANGED, "no token exchange", vec![]),
            Check::fail("tools-offered-to-model", "no tools", vec!["#3".into()]),
        ];
        assert_eq!(mark_oauth_not_applicable(&mut checks), 1);
        assert_eq!(checks[0].verdict, Verdict::NotApplicable);
        assert!(checks[0].evidence[0].contains("judged FAIL"), "{checks:?}");
        assert_eq!(checks[1].verdict, Verdict::Fail);
    }
}
