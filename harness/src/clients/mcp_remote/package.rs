//! mcp-remote's npm package and where a version keeps `mcp-remote-client`.

use std::path::Path;

use crate::store::package::{bin_script, ClientPackage, Launch};

/// `mcp-remote`: node scripts; the harness drives the one the package names
/// `mcp-remote-client` (0.15.1: `dist/client.js`), which connects, lists the server's tools and
/// exits, rather than `mcp-remote`, the stdio proxy a desktop client would start.
pub static PACKAGE: ClientPackage = ClientPackage {
    client: "mcp-remote",
    npm: "mcp-remote",
    pinned: "0.15.1",
    version_env: "MCP_REMOTE_VERSION",
    prereleases: false,
    platform_build: None,
    locate,
};

fn locate(dir: &Path) -> Option<Launch> {
    bin_script(&dir.join("node_modules/mcp-remote"), "mcp-remote-client")
        .map(|script| Launch::node_script(&script))
}
