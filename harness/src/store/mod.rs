//! The version store: published versions from the registry, installs at exact versions into the
//! harness's own cache (lock, size cap, eviction), and what each installed version can do.

pub mod features;
pub mod registry;
pub mod versions;
