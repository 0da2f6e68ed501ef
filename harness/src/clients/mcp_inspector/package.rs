//! MCP Inspector's npm package and where a version keeps the executable it names `mcp-inspector`.

use std::path::Path;

use crate::store::package::{bin_script, ClientPackage, Launch};

/// `@modelcontextprotocol/inspector`: a node script, found through the package's own `bin` entry
/// for `mcp-inspector` (2.12.0: `clients/launcher/build/index.js`, which takes `--cli` first and
/// hands the rest to the CLI client). Only stable versions count.
pub static PACKAGE: ClientPackage = ClientPackage {
    client: "mcp-inspector",
    npm: "@modelcontextprotocol/inspector",
    pinned: "2.12.0",
    version_env: "MCP_INSPECTOR_VERSION",
    prereleases: false,
    platform_build: None,
    locate,
};

fn locate(dir: &Path) -> Option<Launch> {
    bin_script(
        &dir.join("node_modules/@modelcontextprotocol/inspector"),
        "mcp-inspector",
    )
    .map(|script| Launch::node_script(&script))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_is_the_one_the_package_names() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let package = dir
            .path()
            .join("node_modules/@modelcontextprotocol/inspector");
        std::fs::create_dir_all(package.join("clients/launcher/build"))?;
        std::fs::write(
            package.join("package.json"),
            r#"{"bin": {"mcp-inspector": "./clients/launcher/build/index.js"}}"#,
        )?;
        assert_eq!(locate(dir.path()), None, "named, but not there");
        std::fs::write(package.join("clients/launcher/build/index.js"), "")?;
        let launch = locate(dir.path()).map(|l| l.pre_args);
        assert!(
            launch.is_some_and(|a| a[0].ends_with("clients/launcher/build/index.js")),
            "the named script"
        );
        Ok(())
    }
}
