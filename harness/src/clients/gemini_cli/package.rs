//! Gemini CLI's npm package and where each era keeps its executable.

use std::path::Path;

use crate::store::package::{ClientPackage, Launch};

/// `@google/gemini-cli`: a node script in every version, `bundle/gemini.js` in newer ones (0.47
/// and later) and `dist/index.js` in older ones (0.34 and earlier). Only stable versions count:
/// the nightlies and previews carry a `-` in their version.
pub static PACKAGE: ClientPackage = ClientPackage {
    client: "gemini-cli",
    npm: "@google/gemini-cli",
    pinned: "0.61.0",
    version_env: "GEMINI_CLI_VERSION",
    prereleases: false,
    platform_build: None,
    locate,
};

fn locate(dir: &Path) -> Option<Launch> {
    let package = dir.join("node_modules/@google/gemini-cli");
    ["bundle/gemini.js", "dist/index.js"]
        .iter()
        .map(|p| package.join(p))
        .find(|p| p.is_file())
        .map(|script| Launch::node_script(&script))
}
