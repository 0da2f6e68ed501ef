//! The suite's npm package and how to start an installed version of it.
//!
//! The suite needs Node 22 or newer (it uses `fetch` and `node:test` features missing from 20),
//! and its package names no `engines` range, so the store's default Node major (22) runs it.

use std::path::Path;

use crate::store::package::{bin_script, ClientPackage, Launch};
use crate::store::versions::{InstalledVersion, VersionError, VersionStore};

/// `@modelcontextprotocol/conformance` at an exact version; `MCP_CONFORMANCE_VERSION` overrides
/// it. Pinned to a pre-release: `0.1.16` (the `latest` tag) predates the 2026-07-28 revision's
/// scenarios, which the alphas carry.
pub static PACKAGE: ClientPackage = ClientPackage {
    client: "mcp-conformance",
    npm: "@modelcontextprotocol/conformance",
    pinned: "0.2.0-alpha.12",
    version_env: "MCP_CONFORMANCE_VERSION",
    prereleases: true,
    platform_build: None,
    locate,
};

fn locate(dir: &Path) -> Option<Launch> {
    bin_script(
        &dir.join("node_modules/@modelcontextprotocol/conformance"),
        "conformance",
    )
    .map(|script| Launch::node_script(&script))
}

/// The suite's version under test, installed into the harness's cache when missing.
pub fn ensure() -> Result<InstalledVersion, VersionError> {
    VersionStore::from_env(&PACKAGE).ensure(&PACKAGE.version_under_test())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suite_is_found_through_its_bin_entry() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let package = dir
            .path()
            .join("node_modules/@modelcontextprotocol/conformance");
        std::fs::create_dir_all(package.join("dist"))?;
        std::fs::write(
            package.join("package.json"),
            r#"{"bin":{"conformance":"dist/index.js"}}"#,
        )?;
        assert!(
            locate(dir.path()).is_none(),
            "no script yet, nothing to launch"
        );
        std::fs::write(package.join("dist/index.js"), "")?;
        let launch = locate(dir.path()).ok_or("the script exists now")?;
        assert_eq!(launch.pre_args.len(), 1);
        assert!(launch.pre_args[0].ends_with("dist/index.js"));
        Ok(())
    }
}
