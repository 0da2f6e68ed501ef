//! Placeholder library so the root package can own the `suites/` test binaries.
