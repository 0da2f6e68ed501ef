//! Qwen Code's npm package and where each era keeps its executable.

use std::path::Path;

use crate::store::package::{ClientPackage, Launch};

/// `@qwen-code/qwen-code`: a node script in every version. Its `bin` is `cli-entry.js` in newer
/// versions (0.21 and later: a wrapper that starts `cli.js` again with `--expose-gc`) and `cli.js`
/// in older ones (0.15 and earlier). Only stable versions count: the nightlies and previews carry
/// a `-` in their version.
pub static PACKAGE: ClientPackage = ClientPackage {
    client: "qwen-code",
    npm: "@qwen-code/qwen-code",
    pinned: "0.24.4",
    version_env: "QWEN_CODE_VERSION",
    prereleases: false,
    platform_build: None,
    locate,
};

fn locate(dir: &Path) -> Option<Launch> {
    let package = dir.join("node_modules/@qwen-code/qwen-code");
    ["cli-entry.js", "cli.js"]
        .iter()
        .map(|p| package.join(p))
        .find(|p| p.is_file())
        .map(|script| Launch::node_script(&script))
}
