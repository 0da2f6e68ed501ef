//! Claude Code's npm package and where each era keeps its executable.

use std::path::Path;

use crate::store::package::{platform_suffix, ClientPackage, Launch};

/// `@anthropic-ai/claude-code`: `cli.js` (`cli.mjs` in 0.2.x) run with node in older versions; a
/// native binary in the platform package `@anthropic-ai/claude-code-linux-x64` in newer ones.
pub static PACKAGE: ClientPackage = ClientPackage {
    client: "claude-code",
    npm: "@anthropic-ai/claude-code",
    pinned: "2.1.331",
    version_env: "CLAUDE_CODE_VERSION",
    prereleases: true,
    platform_build: None,
    locate,
};

fn locate(dir: &Path) -> Option<Launch> {
    let modules = dir.join("node_modules/@anthropic-ai");
    let native = modules.join(format!("claude-code-{}/claude", platform_suffix()));
    if native.is_file() {
        return Some(Launch::native(native));
    }
    if let Some(script) = ["claude-code/cli.js", "claude-code/cli.mjs"]
        .iter()
        .map(|p| modules.join(p))
        .find(|p| p.is_file())
    {
        return Some(Launch::node_script(&script));
    }
    let wrapper_binary = modules.join("claude-code/bin/claude.exe");
    wrapper_binary
        .is_file()
        .then(|| Launch::native(wrapper_binary))
}
