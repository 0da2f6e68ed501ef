//! The version store: published versions from the registry, installs of any client's package at
//! exact versions into the harness's own cache (a folder per client and version; lock, size cap,
//! eviction), and what each installed version can do.

pub mod features;
pub mod node_runtime;
pub mod package;
pub mod registry;
pub mod usage;
pub mod version_number;
pub mod versions;
