//! Small helpers with no dependencies inside the crate, for every layer to use.

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use url::Url;

/// A handler that panicked while holding a lock leaves consistent-enough data behind for a mock;
/// keep serving rather than poisoning every later request.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whole milliseconds since `since`, saturating.
pub(crate) fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// RFC 8707 resource indicators compared as URLs, so `http://h:p` and `http://h:p/` (and a
/// differently cased host, or an explicit default port) are the same resource.
pub(crate) fn same_resource(a: &str, b: &str) -> bool {
    match (Url::parse(a), Url::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// RFC 8707 §2: an absolute URI without a fragment.
pub(crate) fn is_valid_resource(resource: &str) -> bool {
    Url::parse(resource).is_ok_and(|u| u.fragment().is_none() && u.has_host())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_compare_with_url_equivalence() {
        assert!(same_resource(
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/"
        ));
        assert!(same_resource("http://LOCALHOST:80/", "http://localhost/"));
        assert!(!same_resource(
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8081/"
        ));
        assert!(!same_resource("http://127.0.0.1:8080/", "not a url"));
    }
}
