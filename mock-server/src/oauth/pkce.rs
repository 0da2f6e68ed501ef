//! PKCE (RFC 7636), S256 only: OAuth 2.1 §4.1.1 requires PKCE, and `plain` offers no protection
//! once the authorization request leaks, so it is not offered.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

pub(crate) const METHOD: &str = "S256";

/// RFC 7636 §4.1: 43–128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
pub(crate) fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len()) && verifier.chars().all(is_unreserved)
}

/// An S256 challenge is BASE64URL of a 32-byte digest: exactly 43 characters, no padding.
pub(crate) fn is_valid_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) (RFC 7636 §4.2).
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636 §4.6.
pub(crate) fn verify(verifier: &str, challenge: &str) -> bool {
    is_valid_verifier(verifier) && s256_challenge(verifier) == challenge
}

fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_appendix_b_example_verifies() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(s256_challenge(verifier), challenge);
        assert!(verify(verifier, challenge));
        assert!(!verify("x".repeat(43).as_str(), challenge));
    }

    #[test]
    fn verifiers_outside_the_grammar_are_refused() {
        assert!(!is_valid_verifier("short"));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}+", "a".repeat(43))));
        assert!(is_valid_verifier(&format!("{}~._-", "a".repeat(43))));
    }
}
